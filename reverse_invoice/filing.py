"""The monthly report of taxes filed on sellers' behalf, its per-seller detail, filing and payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, insert, literal, select

from reverse_invoice.domain import add_months, filing_due_date, month_of
from reverse_invoice.invoices import rates_for_month
from reverse_invoice.models import Filing, FilingLine, Invoice, RecyclerProfile, Seller
from reverse_invoice.recyclers import check_recycler_scope, china_today, get_profile, refresh_suspension
from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity.domain import Principal

FIGURES = ("sales", "vat", "urban_tax", "education", "local_education", "income_tax")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FilingLineView:
    """One seller's row of the detail report."""

    seller_id: int
    name: str
    id_number: str
    invoice_count: int
    sales: Decimal
    vat: Decimal
    urban_tax: Decimal
    education: Decimal
    local_education: Decimal
    income_tax: Decimal


@dataclass(frozen=True)
class FilingReport:
    """A filing's summary and, when asked for, its detail lines."""

    id: int
    recycler_id: int
    recycler_name: str
    month: dt.date
    due_on: dt.date
    state: str
    invoice_count: int
    seller_count: int
    sales: Decimal
    vat: Decimal
    urban_tax: Decimal
    education: Decimal
    local_education: Decimal
    income_tax: Decimal
    total_tax: Decimal
    prepared_at: dt.datetime
    filed_at: dt.datetime | None
    paid_at: dt.datetime | None
    payment_reference: str | None
    lines: tuple[FilingLineView, ...] = ()


def previous_month(today: dt.date) -> dt.date:
    """Return the first day of the month before `today`'s."""
    return add_months(month_of(today), -1)


def prepare_filing(uow: UnitOfWork, *, recycler_id: int, month: dt.date, actor: str) -> int:
    """Build (or rebuild, until filed) a recycler's filing for a month from its invoices; return its id."""
    month = month_of(month)
    get_profile(uow, recycler_id)
    filing = uow.session.scalar(select(Filing).where(Filing.recycler_id == recycler_id, Filing.month == month)
                                .with_for_update())
    if filing is not None and filing.state != "prepared":
        return filing.id  # filed reports are what the tax bureau received: never rebuilt
    if filing is None:
        due = filing_due_date(month, rates_for_month(month).filing_due_day)
        filing = Filing(recycler_id=recycler_id, month=month, due_on=due, state="prepared")
        uow.session.add(filing)
        uow.flush()
    else:
        uow.session.execute(delete(FilingLine).where(FilingLine.filing_id == filing.id))
    # One set-based pass: the detail report is a GROUP BY over the month's invoices (red ones are negative).
    detail = (select(literal(filing.id), Invoice.seller_id, func.count(), func.sum(Invoice.amount),
                     func.sum(Invoice.vat), func.sum(Invoice.urban_tax), func.sum(Invoice.education),
                     func.sum(Invoice.local_education), func.sum(Invoice.income_tax))
              .where(Invoice.recycler_id == recycler_id, Invoice.issued_on >= month,
                     Invoice.issued_on < add_months(month, 1))
              .group_by(Invoice.seller_id))
    uow.session.execute(insert(FilingLine).from_select(
        ["filing_id", "seller_id", "invoice_count", *FIGURES], detail))
    totals = uow.session.execute(
        select(func.count(), func.coalesce(func.sum(FilingLine.invoice_count), 0),
               *(func.coalesce(func.sum(getattr(FilingLine, f)), 0) for f in FIGURES))
        .where(FilingLine.filing_id == filing.id)).one()
    filing.seller_count, filing.invoice_count = int(totals[0]), int(totals[1])
    for name, value in zip(FIGURES, totals[2:], strict=True):
        setattr(filing, name, Decimal(value))
    filing.total_tax = filing.vat + filing.urban_tax + filing.education + filing.local_education + filing.income_tax
    filing.prepared_at = utcnow()
    audit.record(uow, actor=actor, action="reverse_invoice.filing_prepared", entity_type="ri_filing",
                 entity_id=filing.id, after={"recycler_id": recycler_id, "month": month.isoformat(),
                                             "sales": str(filing.sales), "total_tax": str(filing.total_tax)})
    return filing.id


def prepare_all_filings(uow: UnitOfWork, *, actor: str, month: dt.date | None = None, today: dt.date | None = None,
                        progress: Progress | None = None) -> list[int]:
    """Prepare every recycler's filing for a month (default: last month), as on the 1st."""
    target = month_of(month) if month else previous_month(today or china_today())
    recycler_ids = list(uow.session.scalars(select(RecyclerProfile.organisation_id)
                                            .order_by(RecyclerProfile.organisation_id)))
    ids = []
    for done, recycler_id in enumerate(recycler_ids, start=1):
        ids.append(prepare_filing(uow, recycler_id=recycler_id, month=target, actor=actor))
        if progress is not None and (done % 10 == 0 or done == len(recycler_ids)):
            progress(done, len(recycler_ids))
    return ids


def _filing(uow: UnitOfWork, filing_id: int, principal: Principal | None, *, write: bool = False,
            lock: bool = False) -> Filing:
    filing = uow.session.get(Filing, filing_id, with_for_update=lock or None, populate_existing=lock)
    if filing is None:
        raise NotFound("申报表不存在 / filing not found", reason="filing.not_found")
    if principal is not None:
        profile = get_profile(uow, filing.recycler_id)
        check_recycler_scope(principal, recycler_id=filing.recycler_id, county_code=profile.county_code, write=write)
    return filing


def mark_filed(uow: UnitOfWork, *, principal: Principal, filing_id: int) -> FilingReport:
    """Record that the recycler filed the report with the tax bureau."""
    filing = _filing(uow, filing_id, principal, write=True, lock=True)
    if filing.state != "prepared":
        raise Conflict("该申报表已申报 / this filing is already filed", reason="filing.already_filed")
    filing.state, filing.filed_at = "filed", utcnow()
    audit.record(uow, actor=principal.actor, action="reverse_invoice.filing_filed", entity_type="ri_filing",
                 entity_id=filing.id, before={"state": "prepared"}, after={"state": "filed"})
    return filing_report(uow, principal=principal, filing_id=filing_id)


def mark_paid(uow: UnitOfWork, *, principal: Principal, filing_id: int, payment_reference: str,
              today: dt.date | None = None) -> FilingReport:
    """Record the tax payment; it lifts the recycler's suspension once nothing else is overdue."""
    reference = payment_reference.strip()
    if not 4 <= len(reference) <= 60:
        raise ValidationFailed.field("payment_reference", "缴款凭证号应为 4–60 个字符 / 4–60 characters")
    filing = _filing(uow, filing_id, principal, write=True, lock=True)
    if filing.state == "paid":
        raise Conflict("该申报表已缴款 / this filing is already paid", reason="filing.already_paid")
    before = filing.state
    now = utcnow()
    filing.state, filing.paid_at, filing.payment_reference = "paid", now, reference
    filing.filed_at = filing.filed_at or now
    audit.record(uow, actor=principal.actor, action="reverse_invoice.filing_paid", entity_type="ri_filing",
                 entity_id=filing.id, before={"state": before}, after={"state": "paid", "reference": reference})
    uow.flush()
    refresh_suspension(uow, recycler_id=filing.recycler_id, today=today or china_today(), actor=principal.actor)
    return filing_report(uow, principal=principal, filing_id=filing_id)


def filing_report(uow: UnitOfWork, *, principal: Principal, filing_id: int, with_lines: bool = False
                  ) -> FilingReport:
    """Return a filing's summary, and its per-seller detail when asked (masked unless the role reveals)."""
    filing = _filing(uow, filing_id, principal)
    lines: tuple[FilingLineView, ...] = ()
    if with_lines:
        rows = uow.session.execute(select(FilingLine, Seller.person_id).join(Seller, Seller.id == FilingLine.seller_id)
                                   .where(FilingLine.filing_id == filing.id).order_by(FilingLine.seller_id)).all()
        views = []
        for line, person_id in rows:
            person = persons.view_person(uow, person_id=person_id, principal=principal)
            views.append(FilingLineView(line.seller_id, person.name, person.id_number, line.invoice_count, line.sales,
                                        line.vat, line.urban_tax, line.education, line.local_education,
                                        line.income_tax))
        lines = tuple(views)
    name = get_profile(uow, filing.recycler_id).name
    return FilingReport(
        filing.id, filing.recycler_id, name, filing.month, filing.due_on, filing.state, filing.invoice_count,
        filing.seller_count, filing.sales, filing.vat, filing.urban_tax, filing.education, filing.local_education,
        filing.income_tax, filing.total_tax, filing.prepared_at, filing.filed_at, filing.paid_at,
        filing.payment_reference, lines)


def list_filings(uow: UnitOfWork, *, principal: Principal, month: dt.date | None = None, limit: int = 200
                 ) -> list[FilingReport]:
    """List the filings the caller may see, newest month first."""
    query = select(Filing.id, RecyclerProfile.county_code, Filing.recycler_id).join(
        RecyclerProfile, RecyclerProfile.organisation_id == Filing.recycler_id)
    if month is not None:
        query = query.where(Filing.month == month_of(month))
    if principal.organisation_id is not None and principal.organisation_kind is not None and \
            principal.organisation_kind.value == "recycler":
        query = query.where(Filing.recycler_id == principal.organisation_id)
    elif not principal.all_counties:
        query = query.where(RecyclerProfile.county_code.in_(principal.counties))
    rows = uow.session.execute(query.order_by(Filing.month.desc(), Filing.recycler_id).limit(limit)).all()
    return [filing_report(uow, principal=principal, filing_id=row[0]) for row in rows]
