"""Issuing reverse invoices: the per-seller lock, the rolling cap, the month rule and gapless numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from reverse_invoice.domain import (
    InvoiceType,
    LocationClass,
    Rates,
    TaxFigures,
    compute_taxes,
    month_is_taxable,
    month_of,
    rolling_window,
    to_fen,
    within_cap,
)
from reverse_invoice.models import Invoice, InvoiceCounter, Purchase, RecyclerProfile, SellerMonth
from reverse_invoice.purchases import PurchaseDetail, purchase_detail
from reverse_invoice.recyclers import (
    check_may_issue,
    check_recycler_scope,
    get_profile,
    has_overdue_filing,
    overdue_months,
    standing_of,
)
from reverse_invoice.sellers import SellerView, has_consented, lock_seller, no_consent, view_seller
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal, Role

PROVINCE_CODE = "14"  # Shanxi, in the fully digital invoice number (2 year, 2 province, 1 channel, 15 sequence)
CHANNEL = "2"  # issued by a platform on the taxpayer's behalf


@dataclass(frozen=True)
class IssueResult:
    """A newly issued invoice, and the month's earlier exempt invoices it made need correcting."""

    invoice_id: int
    number: str
    figures: TaxFigures
    corrections_needed: tuple[int, ...]


def invoice_number(recycler_id: int, year: int, seq: int) -> str:
    """Format a 20-digit fully digital style number: year, province, channel, recycler and sequence."""
    if recycler_id >= 10**7 or seq >= 10**8:
        raise Conflict("发票号码超出编号范围 / invoice number range exhausted", reason="invoice.number_range")
    return f"{year % 100:02d}{PROVINCE_CODE}{CHANNEL}{recycler_id:07d}{seq:08d}"


def _upserts(dialect_name: str) -> tuple[Any, Any]:
    """Build the counter and month-total upserts once per dialect, with bound parameters (the hot path)."""
    if dialect_name not in _UPSERTS:
        dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
        counter = (dialect.insert(InvoiceCounter.__table__).values(recycler_id=bindparam("recycler_id"),
                                                                   year=bindparam("year"), last_seq=1)
                   .on_conflict_do_update(index_elements=["recycler_id", "year"],
                                          set_={"last_seq": InvoiceCounter.__table__.c.last_seq + 1})
                   .returning(InvoiceCounter.__table__.c.last_seq))
        month = (dialect.insert(SellerMonth.__table__).values(seller_id=bindparam("seller_id"),
                                                              month=bindparam("month"), sales=bindparam("delta"))
                 .on_conflict_do_update(index_elements=["seller_id", "month"],
                                        set_={"sales": SellerMonth.__table__.c.sales + bindparam("delta")}))
        _UPSERTS[dialect_name] = (counter, month)
    return _UPSERTS[dialect_name]


_UPSERTS: dict[str, tuple[Any, Any]] = {}
_INSERT_INVOICE = insert(Invoice).returning(Invoice.id)


def next_sequence(uow: UnitOfWork, *, recycler_id: int, year: int) -> int:
    """Take the next number of a recycler's year; the counter row stays locked until commit, so no gaps."""
    connection = uow.session.connection()
    counter, _month = _upserts(connection.dialect.name)
    return int(connection.execute(counter, {"recycler_id": recycler_id, "year": year}).scalar_one())


def add_month_sales(uow: UnitOfWork, *, seller_id: int, month: dt.date, delta: Decimal) -> None:
    """Add to a seller's running monthly total (the seller row is locked by the caller)."""
    connection = uow.session.connection()
    _counter, upsert = _upserts(connection.dialect.name)
    connection.execute(upsert, {"seller_id": seller_id, "month": month, "delta": delta})


def month_sales(uow: UnitOfWork, *, seller_id: int, start: dt.date, end: dt.date) -> Decimal:
    """Sum a seller's sales over months `start`..`end` across all recyclers."""
    total = uow.session.scalar(select(func.coalesce(func.sum(SellerMonth.sales), 0)).where(
        SellerMonth.seller_id == seller_id, SellerMonth.month >= start, SellerMonth.month <= end))
    return Decimal(total or 0)


def window_and_month_sales(uow: UnitOfWork, *, seller_id: int, start: dt.date, month: dt.date
                           ) -> tuple[Decimal, Decimal]:
    """Return a seller's sales over the rolling window and in its last month, in one query."""
    window, this_month = uow.session.execute(select(
        func.coalesce(func.sum(SellerMonth.sales), 0),
        func.coalesce(func.sum(case((SellerMonth.month == month, SellerMonth.sales), else_=0)), 0),
    ).where(SellerMonth.seller_id == seller_id, SellerMonth.month >= start, SellerMonth.month <= month)).one()
    return Decimal(window), Decimal(this_month)


def rates_for_month(month: dt.date) -> Rates:
    """Return the rates in force for a month (from the day reverse invoicing began, for its first month)."""
    rules = load_tax_rules()
    return rules.rates(max(month, rules.in_force_from))


def figures_of(invoice: Invoice) -> TaxFigures:
    """Return an invoice row's figures."""
    return TaxFigures(invoice.amount, invoice.vat_rate, invoice.vat_exempt, invoice.vat, invoice.urban_rate,
                      invoice.urban_tax, invoice.education, invoice.local_education, invoice.income_tax)


@dataclass(frozen=True)
class NewInvoice:
    """An invoice row just inserted."""

    id: int
    number: str


def insert_invoice(
    uow: UnitOfWork, *, recycler_id: int, seller_id: int, purchase_id: int | None, colour: str,
    invoice_type: str, figures: TaxFigures, issued_on: dt.date, tax_month: dt.date, location: str, actor: str,
    original_id: int | None = None, red_reason: str | None = None, replaces_id: int | None = None,
) -> NewInvoice:
    """Number and insert an invoice row (blue or red) in the caller's transaction."""
    seq = next_sequence(uow, recycler_id=recycler_id, year=issued_on.year)
    number = invoice_number(recycler_id, issued_on.year, seq)
    # A prebuilt INSERT … RETURNING with bound parameters: no ORM object, no statement to build per invoice.
    values = dict(
        number=number, recycler_id=recycler_id, seller_id=seller_id,
        purchase_id=purchase_id, year=issued_on.year, seq=seq, colour=colour, invoice_type=invoice_type,
        issued_on=issued_on, tax_month=tax_month, location_class=location, amount=figures.amount,
        vat_rate=figures.vat_rate, vat_exempt=figures.vat_exempt, vat=figures.vat, urban_rate=figures.urban_rate,
        urban_tax=figures.urban_tax, education=figures.education, local_education=figures.local_education,
        income_tax=figures.income_tax, total_incl_vat=figures.total_incl_vat, net_payable=figures.net_payable,
        state="issued", reversed_amount=Decimal("0"), original_id=original_id, red_reason=red_reason,
        replaces_id=replaces_id, issued_by=actor,
    )
    return NewInvoice(int(uow.session.connection().execute(_INSERT_INVOICE, values).scalar_one()), number)


def corrections_needed(uow: UnitOfWork, *, seller_id: int, month: dt.date) -> tuple[int, ...]:
    """List a month's live blue invoices whose VAT treatment no longer matches the month's total."""
    month = month_of(month)
    total = month_sales(uow, seller_id=seller_id, start=month, end=month)
    taxable = month_is_taxable(total, rates_for_month(month).monthly_threshold)
    rows = uow.session.scalars(
        select(Invoice.id).where(Invoice.seller_id == seller_id, Invoice.tax_month == month, Invoice.colour == "blue",
                                 Invoice.state != "reversed", Invoice.vat_exempt == taxable)
        .order_by(Invoice.id))
    return tuple(rows)


_MARK_INVOICED = update(Purchase).where(Purchase.id == bindparam("purchase_id")).values(state="invoiced")


def issue_invoice(
    uow: UnitOfWork, *, principal: Principal, purchase_id: int, invoice_type: InvoiceType = InvoiceType.ORDINARY,
    today: dt.date | None = None,
) -> IssueResult:
    """Issue the reverse invoice for a purchase, in the caller's transaction, within every limit."""
    day = today or business_date()
    # One round trip: the purchase (locked), its recycler's profile, whether a filing is overdue, the consent.
    found = uow.session.execute(
        select(Purchase, RecyclerProfile, has_overdue_filing(RecyclerProfile.organisation_id, day),
               has_consented(Purchase.seller_id, Purchase.recycler_id))
        .join(RecyclerProfile, RecyclerProfile.organisation_id == Purchase.recycler_id, isouter=True)
        .where(Purchase.id == purchase_id).with_for_update(of=Purchase)
        .execution_options(populate_existing=True)).one_or_none()
    if found is None:
        raise NotFound("收购记录不存在 / purchase not found", reason="purchase.not_found")
    purchase, profile, overdue, consented = found
    if profile is None:
        profile = get_profile(uow, purchase.recycler_id)  # raises the recycler.not_registered refusal
    check_recycler_scope(principal, recycler_id=purchase.recycler_id, county_code=profile.county_code, write=True)
    if purchase.state != "open":
        raise Conflict("该收购已开具发票 / this purchase is already invoiced", reason="purchase.already_invoiced")
    if purchase.purchased_on > day:
        raise ValidationFailed.field("purchased_on", "收购日期晚于开票日期 / purchase is dated after the invoice")
    months_overdue = overdue_months(uow, recycler_id=purchase.recycler_id, today=day) if overdue else ()
    standing = check_may_issue(standing_of(profile, months_overdue), invoice_type)
    if not consented:
        raise no_consent()
    # The seller's row lock serialises every recycler's invoices for this seller: the cap and the month
    # totals below are read and written under it, so two recyclers issuing at once cannot both pass.
    lock_seller(uow, purchase.seller_id)
    rates = load_tax_rules().rates(day)
    month = month_of(day)
    start, end = rolling_window(month, rates.rolling_months)
    window, before = window_and_month_sales(uow, seller_id=purchase.seller_id, start=start, month=end)
    if not within_cap(window, purchase.amount, rates.seller_cap):
        raise Conflict(
            f"售卖人近12个月反向开票销售额将超过 {rates.seller_cap} 元,请引导其办理个体工商户登记 / the seller's "
            f"sales over the rolling 12 months would exceed {rates.seller_cap}; refer them to register a business",
            reason="seller.cap_exceeded")
    taxable = month_is_taxable(before + purchase.amount, rates.monthly_threshold)
    figures = compute_taxes(purchase.amount, taxable=taxable, rates=rates, location=LocationClass(
        standing.location_class))
    invoice = insert_invoice(
        uow, recycler_id=purchase.recycler_id, seller_id=purchase.seller_id, purchase_id=purchase.id, colour="blue",
        invoice_type=invoice_type.value, figures=figures, issued_on=day, tax_month=month,
        location=standing.location_class.value, actor=principal.actor)
    add_month_sales(uow, seller_id=purchase.seller_id, month=month, delta=purchase.amount)
    uow.session.connection().execute(_MARK_INVOICED, {"purchase_id": purchase.id})
    set_committed_value(purchase, "state", "invoiced")  # the loaded row says what the database now holds
    audit.record(uow, actor=principal.actor, action="reverse_invoice.issued", entity_type="ri_invoice",
                 entity_id=invoice.id, after={"number": invoice.number, "amount": str(figures.amount),
                                              "vat": str(figures.vat), "seller_id": purchase.seller_id})
    # Only the invoice that takes the month over the threshold lists the earlier exempt ones for correction.
    crossed = taxable and not month_is_taxable(before, rates.monthly_threshold)
    pending = corrections_needed(uow, seller_id=purchase.seller_id, month=month) if crossed else ()
    return IssueResult(invoice.id, invoice.number, figures, pending)


def get_invoice(uow: UnitOfWork, invoice_id: int, *, principal: Principal | None = None, lock: bool = False,
                write: bool = False) -> Invoice:
    """Return an invoice within the caller's scope."""
    invoice = uow.session.get(Invoice, invoice_id, with_for_update=lock or None, populate_existing=lock)
    if invoice is None:
        raise NotFound("发票不存在 / invoice not found", reason="invoice.not_found")
    if principal is not None:
        profile = get_profile(uow, invoice.recycler_id)
        check_recycler_scope(principal, recycler_id=invoice.recycler_id, county_code=profile.county_code,
                             write=write)
    return invoice


@dataclass(frozen=True)
class Headroom:
    """A seller's reverse-invoiced sales over the rolling window, across recyclers, and what the cap leaves."""

    window_start: dt.date
    window_end: dt.date
    window_sales: Decimal
    month_sales: Decimal
    cap: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class IssuePreview:
    """What issuing a purchase's invoice today would do, shown before the clerk confirms."""

    purchase_id: int
    amount: Decimal
    headroom: Headroom
    remaining_after: Decimal
    within_cap: bool
    taxable: bool
    figures: TaxFigures
    may_issue: bool
    refusal: str | None


def seller_headroom(uow: UnitOfWork, *, seller_id: int, today: dt.date | None = None) -> Headroom:
    """Sum a seller's sales over this month and the 11 before (all recyclers) and what remains under the cap."""
    day = today or business_date()
    rates = load_tax_rules().rates(day)
    start, end = rolling_window(month_of(day), rates.rolling_months)
    window, this_month = (to_fen(v) for v in window_and_month_sales(uow, seller_id=seller_id, start=start,
                                                                     month=end))
    return Headroom(start, end, window, this_month, rates.seller_cap, max(rates.seller_cap - window, Decimal("0")))


def issue_preview(uow: UnitOfWork, *, principal: Principal, purchase_id: int, today: dt.date | None = None
                  ) -> IssuePreview:
    """Preview a purchase's invoice: the seller's 12-month total, the headroom left after it, the taxes, and
    whether the recycler may issue it now (issue_invoice checks all of it again under the seller's lock)."""
    day = today or business_date()
    purchase = uow.session.get(Purchase, purchase_id)
    if purchase is None:
        raise NotFound("收购记录不存在 / purchase not found", reason="purchase.not_found")
    profile = get_profile(uow, purchase.recycler_id)
    check_recycler_scope(principal, recycler_id=purchase.recycler_id, county_code=profile.county_code)
    rates = load_tax_rules().rates(day)
    room = seller_headroom(uow, seller_id=purchase.seller_id, today=day)
    within = within_cap(room.window_sales, purchase.amount, rates.seller_cap)
    taxable = month_is_taxable(room.month_sales + purchase.amount, rates.monthly_threshold)
    current = standing_of(profile, overdue_months(uow, recycler_id=purchase.recycler_id, today=day))
    figures = compute_taxes(purchase.amount, taxable=taxable, rates=rates,
                            location=LocationClass(current.location_class))
    refusal = None
    if purchase.state != "open":
        refusal = "该收购已开具发票"
    elif current.qualification_state != "approved":
        refusal = "本企业反向开票资格未获批准"
    elif current.status == "suspended":
        refusal = "上月代办税费逾期未缴,反向开票已暂停"
    elif not uow.session.scalar(select(has_consented(purchase.seller_id, purchase.recycler_id))):
        refusal = "售卖人尚未授权本企业代办税费"
    elif not within:
        refusal = f"开具后售卖人近12个月销售额将超过 {rates.seller_cap} 元,请引导其办理个体工商户登记"
    return IssuePreview(purchase.id, purchase.amount, room, room.remaining - purchase.amount, within, taxable,
                        figures, refusal is None, refusal)


@dataclass(frozen=True)
class SellerOverview:
    """A seller's page: who they are, their 12-month headroom, and the clerk's purchases not yet invoiced."""

    seller: SellerView
    headroom: Headroom
    open_purchases: tuple[Purchase, ...]


def seller_overview(uow: UnitOfWork, *, principal: Principal, seller_id: int, today: dt.date | None = None
                    ) -> SellerOverview:
    """Show a seller the caller may see with their rolling 12-month total and their open purchases here."""
    seller = view_seller(uow, principal=principal, seller_id=seller_id)
    open_rows: tuple[Purchase, ...] = ()
    if Role.RECYCLER_CLERK in principal.roles:
        open_rows = tuple(uow.session.scalars(
            select(Purchase).where(Purchase.seller_id == seller_id, Purchase.recycler_id == principal.organisation_id,
                                   Purchase.state == "open").order_by(Purchase.id.desc()).limit(50)))
    return SellerOverview(seller, seller_headroom(uow, seller_id=seller_id, today=today), open_rows)


def purchase_with_preview(uow: UnitOfWork, *, principal: Principal, purchase_id: int
                          ) -> tuple[PurchaseDetail, IssuePreview]:
    """A purchase's page: its lines and evidence, and what issuing its invoice today would do."""
    detail = purchase_detail(uow, principal=principal, purchase_id=purchase_id)
    return detail, issue_preview(uow, principal=principal, purchase_id=purchase_id)
