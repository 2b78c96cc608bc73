"""Demo data: the renewable-resource recycler qualified, a consenting seller and a few invoices (idempotent)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from reverse_invoice import invoices, purchases, recyclers, sellers
from reverse_invoice.domain import InvoiceType, LocationClass, Qualification, VatMethod
from reverse_invoice.models import Invoice
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import utcnow
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.demo_residents import luhn_card, resident_id
from subsidy_app.identity.domain import OrgKind, Principal, Role
from subsidy_app.runtime import Runtime
from subsidy_app.seed import SEED_ACTOR, demo_credit_code, demo_step, seed_demo

SCRAP_STEEL_CODE = "1060201010000000000"  # 废钢 (tax classification: recovered ferrous scrap)
SCRAP_PAPER_CODE = "1060201070000000000"  # 废纸


def make_resident_id(serial: int, area: str = "141102", birth: str = "19800101") -> str:
    """Build a valid 18-character resident ID for demo and test sellers."""
    return resident_id(f"{area}{birth}{serial % 1000:03d}")


def make_bank_card(serial: int, prefix: str = "621700") -> str:
    """Build a valid 19-digit bank card number (Luhn) for demo and test sellers."""
    return luhn_card(f"{prefix}{serial:012d}")


def system_principal(organisation_id: int | None = None) -> Principal:
    """Act as the seeding system: an admin, or the clerk of one recycler."""
    if organisation_id is None:
        return Principal(kind="staff", account_id=0, username=SEED_ACTOR, roles=frozenset({Role.ADMIN}),
                         all_counties=True)
    return Principal(kind="staff", account_id=0, username=SEED_ACTOR, organisation_id=organisation_id,
                     organisation_kind=OrgKind.RECYCLER, roles=frozenset({Role.RECYCLER_CLERK}))


def demo_evidence(amount: Decimal, reference: str) -> purchases.Evidence:
    """Return plausible purchase evidence."""
    return purchases.Evidence(
        contract_no=f"HT-{reference}", weighbridge_ticket=f"BD-{reference}", vehicle_plate="晋J12345",
        photos=(f"photos/{reference}-1.jpg",), payment_reference=f"PAY-{reference}", paid_amount=amount,
        paid_at=utcnow())


def seed_reverse_invoicing(uow: UnitOfWork) -> str:
    """Qualify the demo renewable recycler, register a consenting seller and issue a few invoices."""
    ids = seed_demo(uow)
    recycler_id = ids["org:recycler:renewable"]
    if uow.session.scalar(select(Invoice.id).where(Invoice.recycler_id == recycler_id).limit(1)) is not None:
        return "already there"
    admin, clerk = system_principal(), system_principal(recycler_id)
    recyclers.register_profile(uow, principal=admin, recycler_id=recycler_id,
                               qualification=Qualification.RENEWABLE_FILING,
                               qualification_no=f"ZSBA-{demo_credit_code(2)[-6:]}", vat_method=VatMethod.GENERAL,
                               location_class=LocationClass.COUNTY_TOWN)
    recyclers.decide_qualification(uow, principal=admin, recycler_id=recycler_id, approve=True)
    seller_id = sellers.register_seller(uow, principal=clerk, name="王建国", id_number=make_resident_id(17),
                                        bank_card=make_bank_card(17), bank_name="中国建设银行吕梁分行",
                                        phone="13800000017")
    version, _text = sellers.consent_text()
    sellers.record_consent(uow, principal=clerk, seller_id=seller_id, recycler_id=recycler_id, text_version=version,
                           agreed=True)
    today = business_date()
    issued = 0
    for index, (name, code, quantity, price) in enumerate([
        ("废钢", SCRAP_STEEL_CODE, Decimal("2.350000"), Decimal("2450.00")),
        ("废纸", SCRAP_PAPER_CODE, Decimal("1.200000"), Decimal("1500.00")),
        ("废钢", SCRAP_STEEL_CODE, Decimal("0.875500"), Decimal("2480.00")),
    ]):
        line = purchases.LineIn(product_name=name, tax_code=code, unit="吨", quantity=quantity, unit_price=price,
                                specification="重废")
        amount = line.quantity * line.unit_price
        purchase_id = purchases.record_purchase(
            uow, principal=clerk, recycler_id=recycler_id, seller_id=seller_id, purchased_on=today, lines=[line],
            evidence=demo_evidence(amount, f"DEMO{index + 1}"))
        invoices.issue_invoice(uow, principal=clerk, purchase_id=purchase_id, invoice_type=InvoiceType.ORDINARY,
                               today=today)
        issued += 1
    uow.commit()
    return f"{issued} invoices"


@demo_step("reverse invoicing")
def reverse_invoicing_demo(runtime: Runtime) -> str:
    """Create the reverse-invoicing demo data."""
    with runtime.unit_of_work() as uow:
        return seed_reverse_invoicing(uow)
