"""Shared set-up for reverse-invoicing tests: qualified recyclers, consenting sellers, purchases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reverse_invoice import invoices, purchases, recyclers, sellers
from reverse_invoice.demo import SCRAP_STEEL_CODE, demo_evidence, make_bank_card, make_resident_id, system_principal
from reverse_invoice.domain import InvoiceType, LocationClass, Qualification, VatMethod
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal

ADMIN = system_principal()
DAY = dt.date(2026, 3, 10)


def clerk(recycler_id: int) -> Principal:
    """Return a clerk principal of a recycler."""
    return system_principal(recycler_id)


def qualify(uow: UnitOfWork, recycler_id: int, *, vat_method: VatMethod = VatMethod.GENERAL,
            location: LocationClass = LocationClass.CITY, approve: bool = True) -> None:
    """Register and approve a recycler's reverse-invoicing profile."""
    recyclers.register_profile(uow, principal=ADMIN, recycler_id=recycler_id,
                               qualification=Qualification.VEHICLE_DISMANTLING, qualification_no=f"QUAL-{recycler_id}",
                               vat_method=vat_method, location_class=location)
    if approve:
        recyclers.decide_qualification(uow, principal=ADMIN, recycler_id=recycler_id, approve=True)


def seller(uow: UnitOfWork, serial: int, *consent_to: int) -> int:
    """Register a seller and record their consent to the given recyclers."""
    seller_id = sellers.register_seller(uow, principal=ADMIN, name=f"售卖人{serial:03d}",
                                        id_number=make_resident_id(serial), bank_card=make_bank_card(serial))
    version, _ = sellers.consent_text()
    for recycler_id in consent_to:
        sellers.record_consent(uow, principal=clerk(recycler_id), seller_id=seller_id, recycler_id=recycler_id,
                               text_version=version, agreed=True)
    return seller_id


def purchase(uow: UnitOfWork, recycler_id: int, seller_id: int, amount: str, *, on: dt.date = DAY,
             intake_ref: str | None = None) -> int:
    """Record a one-line purchase of `amount` yuan."""
    value = Decimal(amount)
    line = purchases.LineIn(product_name="废钢", tax_code=SCRAP_STEEL_CODE, unit="吨", quantity=Decimal("1"),
                            unit_price=value)
    return purchases.record_purchase(uow, principal=clerk(recycler_id), recycler_id=recycler_id, seller_id=seller_id,
                                     purchased_on=on, lines=[line], evidence=demo_evidence(value, f"{seller_id}"),
                                     intake_ref=intake_ref)


def issue(uow: UnitOfWork, recycler_id: int, seller_id: int, amount: str, *, on: dt.date = DAY,
          invoice_type: InvoiceType = InvoiceType.ORDINARY) -> invoices.IssueResult:
    """Record a purchase and issue its invoice."""
    purchase_id = purchase(uow, recycler_id, seller_id, amount, on=on)
    return invoices.issue_invoice(uow, principal=clerk(recycler_id), purchase_id=purchase_id,
                                  invoice_type=invoice_type, today=on)
