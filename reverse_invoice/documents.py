"""The invoice as a document: parties, lines and figures, for HTML, PDF, JSON and XML."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from reverse_invoice.domain import INVOICE_TYPE_ZH, InvoiceType, RedReason
from reverse_invoice.invoices import get_invoice
from reverse_invoice.models import Invoice, RecyclerProfile, Seller
from reverse_invoice.purchases import purchase_lines
from reverse_invoice.recyclers import get_profile
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity.domain import Principal
from subsidy_app.identity.organisations import get_organisation


@dataclass(frozen=True)
class DocumentLine:
    """A printed invoice line (negative on a red-letter invoice)."""

    product_name: str
    tax_code: str
    specification: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on a reverse invoice."""

    id: int
    number: str
    colour: str
    invoice_type: str
    invoice_type_zh: str
    issued_on: dt.date
    tax_month: dt.date
    state: str
    recycler_id: int
    recycler_name: str
    recycler_credit_code: str
    seller_id: int
    seller_name: str
    seller_id_number: str
    seller_card: str
    lines: tuple[DocumentLine, ...]
    amount: Decimal
    vat_rate: Decimal
    vat_exempt: bool
    vat: Decimal
    urban_rate: Decimal
    urban_tax: Decimal
    education: Decimal
    local_education: Decimal
    income_tax: Decimal
    total_incl_vat: Decimal
    net_payable: Decimal
    reversed_amount: Decimal
    original_number: str | None
    red_reason: str | None
    red_reason_zh: str | None
    replaces_number: str | None
    issued_by: str


def _lines(uow: UnitOfWork, invoice: Invoice) -> tuple[DocumentLine, ...]:
    if invoice.purchase_id is None:
        return ()
    rows = purchase_lines(uow, invoice.purchase_id)
    source_amount = sum((r.amount for r in rows), Decimal("0"))
    if invoice.colour == "blue" and invoice.amount == source_amount:
        return tuple(DocumentLine(r.product_name, r.tax_code, r.specification, r.unit, r.quantity, r.unit_price,
                                  r.amount) for r in rows)
    if invoice.colour == "red" and invoice.amount == -source_amount:
        return tuple(DocumentLine(r.product_name, r.tax_code, r.specification, r.unit, -r.quantity, r.unit_price,
                                  -r.amount) for r in rows)
    first = rows[0]  # a sales allowance or the re-issue of a partly reversed invoice: one line for the amount
    label = "销售折让" if invoice.colour == "red" else first.product_name
    return (DocumentLine(f"{first.product_name}({label})" if label != first.product_name else label,
                         first.tax_code, first.specification, first.unit, None, None, invoice.amount),)


def _number(uow: UnitOfWork, invoice_id: int | None) -> str | None:
    if invoice_id is None:
        return None
    return uow.session.scalar(select(Invoice.number).where(Invoice.id == invoice_id))


def invoice_document(uow: UnitOfWork, *, principal: Principal, invoice_id: int) -> InvoiceDocument:
    """Assemble an invoice for display and export; the seller is masked unless the caller's role reveals."""
    invoice = get_invoice(uow, invoice_id, principal=principal)
    profile = get_profile(uow, invoice.recycler_id)
    org = get_organisation(uow, invoice.recycler_id)
    seller = uow.session.get(Seller, invoice.seller_id)
    assert seller is not None and org is not None
    person = persons.view_person(uow, person_id=seller.person_id, principal=principal,
                                 owner_checked=True)  # the invoice's seller, in scope with it
    reason = load_tax_rules().red_reasons[RedReason(invoice.red_reason)] if invoice.red_reason else None
    return InvoiceDocument(
        id=invoice.id, number=invoice.number, colour=invoice.colour, invoice_type=invoice.invoice_type,
        invoice_type_zh=INVOICE_TYPE_ZH[InvoiceType(invoice.invoice_type)], issued_on=invoice.issued_on,
        tax_month=invoice.tax_month, state=invoice.state, recycler_id=invoice.recycler_id,
        recycler_name=profile.name, recycler_credit_code=org.credit_code, seller_id=seller.id,
        seller_name=person.name, seller_id_number=person.id_number, seller_card=seller.card_masked,
        lines=_lines(uow, invoice), amount=invoice.amount, vat_rate=invoice.vat_rate, vat_exempt=invoice.vat_exempt,
        vat=invoice.vat, urban_rate=invoice.urban_rate, urban_tax=invoice.urban_tax, education=invoice.education,
        local_education=invoice.local_education, income_tax=invoice.income_tax,
        total_incl_vat=invoice.total_incl_vat, net_payable=invoice.net_payable,
        reversed_amount=invoice.reversed_amount, original_number=_number(uow, invoice.original_id),
        red_reason=invoice.red_reason, red_reason_zh=reason.zh if reason else None,
        replaces_number=_number(uow, invoice.replaces_id),
        issued_by=profile.name,  # the issuer is the recycler (the clerk's account is in the audit trail)
    )


def _invoice_query(principal: Principal, *, recycler_id: int | None, seller_id: int | None,
                   month: dt.date | None) -> Any:
    query = select(Invoice).join(RecyclerProfile, RecyclerProfile.organisation_id == Invoice.recycler_id)
    if principal.organisation_kind is not None and principal.organisation_kind.value == "recycler":
        query = query.where(Invoice.recycler_id == principal.organisation_id)
    elif not principal.all_counties:
        query = query.where(RecyclerProfile.county_code.in_(principal.counties))
    if recycler_id is not None:
        query = query.where(Invoice.recycler_id == recycler_id)
    if seller_id is not None:
        query = query.where(Invoice.seller_id == seller_id)
    if month is not None:
        query = query.where(Invoice.issued_on >= month.replace(day=1),
                            Invoice.issued_on < (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1))
    return query


def list_invoices(uow: UnitOfWork, *, principal: Principal, recycler_id: int | None = None,
                  seller_id: int | None = None, month: dt.date | None = None, limit: int = 100,
                  before_id: int | None = None, offset: int = 0) -> list[Invoice]:
    """List invoices in the caller's scope, newest first (keyset paging by id, or by offset for pages)."""
    query = _invoice_query(principal, recycler_id=recycler_id, seller_id=seller_id, month=month)
    if before_id is not None:
        query = query.where(Invoice.id < before_id)
    return list(uow.session.scalars(query.order_by(Invoice.id.desc()).offset(offset).limit(min(limit, 500))))


def count_invoices(uow: UnitOfWork, *, principal: Principal, seller_id: int | None = None,
                   month: dt.date | None = None) -> int:
    """Count the invoices in the caller's scope that list_invoices would page through."""
    query = _invoice_query(principal, recycler_id=None, seller_id=seller_id, month=month)
    return int(uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
