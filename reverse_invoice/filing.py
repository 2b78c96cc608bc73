"""The monthly report of taxes filed on sellers' behalf, its per-seller detail, filing and payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select

from reverse_invoice.domain import add_months, filing_due_date, month_of
from reverse_invoice.invoices import rates_for_month
from reverse_invoice.models import Filing, FilingLine, Invoice, RecyclerProfile, Seller
from reverse_invoice.recyclers import check_recycler_scope, get_profile, refresh_suspension
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
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

    @property
    def files_from(self) -> dt.date:
        """The first day it may be filed: the day after its month ends."""
        return add_months(self.month, 1)

    @property
    def month_over(self) -> bool:
        """Whether its month has ended, so it may be filed."""
        return business_date() >= self.files_from


def previous_month(today: dt.date) -> dt.date:
    """Return the first day of the month before `today`'s."""
    return add_months(month_of(today), -1)


def prepare_filing(uow: UnitOfWork, *, recycler_id: int, month: dt.date, actor: str) -> int:
    """Build (or rebuild, until filed) one recycler's filing for a month from its invoices; return its id."""
    get_profile(uow, recycler_id)
    return _prepare(uow, month=month_of(month), recycler_ids=[recycler_id], actor=actor)[0]


def prepare_all_filings(uow: UnitOfWork, *, actor: str, month: dt.date | None = None, today: dt.date | None = None,
                        progress: Progress | None = None) -> list[int]:
    """Prepare every recycler's filing for a month (default: last month), as on the 1st."""
    target = month_of(month) if month else previous_month(today or business_date())
    recycler_ids = list(uow.session.scalars(select(RecyclerProfile.organisation_id)
                                            .order_by(RecyclerProfile.organisation_id)))
    ids: list[int] = []
    batch = 500  # recyclers per set-based pass: bounded memory at national scale, one pass for a city
    for start in range(0, len(recycler_ids), batch):
        ids += _prepare(uow, month=target, recycler_ids=recycler_ids[start:start + batch], actor=actor)
        if progress is not None:
            progress(min(start + batch, len(recycler_ids)), len(recycler_ids))
    return ids


def _prepare(uow: UnitOfWork, *, month: dt.date, recycler_ids: list[int], actor: str) -> list[int]:
    """Prepare the filings of several recyclers in set-based passes; filed ones are left as filed."""
    filings = {f.recycler_id: f for f in uow.session.scalars(
        select(Filing).where(Filing.month == month, Filing.recycler_id.in_(recycler_ids))
        .order_by(Filing.recycler_id).with_for_update())}
    due = filing_due_date(month, rates_for_month(month).filing_due_day)
    for recycler_id in recycler_ids:
        if recycler_id not in filings:
            filings[recycler_id] = Filing(recycler_id=recycler_id, month=month, due_on=due, state="prepared")
            uow.session.add(filings[recycler_id])
    uow.flush()
    # Filed reports are what the tax bureau received: never rebuilt.
    rebuild = [f for f in filings.values() if f.state == "prepared"]
    rebuild_ids = [f.id for f in rebuild]
    totals: dict[int, Any] = {}
    if rebuild_ids:
        uow.session.execute(delete(FilingLine).where(FilingLine.filing_id.in_(rebuild_ids)))
        # The detail report is one GROUP BY over the month's invoices (red-letter ones are negative).
        sums = (func.sum(getattr(Invoice, "amount" if f == "sales" else f)) for f in FIGURES)
        detail = (select(Filing.id, Invoice.seller_id, func.count(), *sums)
                  .join(Filing, Filing.recycler_id == Invoice.recycler_id)
                  .where(Filing.id.in_(rebuild_ids), Filing.month == month, Invoice.issued_on >= month,
                         Invoice.issued_on < add_months(month, 1))
                  .group_by(Filing.id, Invoice.seller_id))
        uow.session.execute(insert(FilingLine).from_select(["filing_id", "seller_id", "invoice_count", *FIGURES],
                                                           detail))
        totals = {row[0]: row[1:] for row in uow.session.execute(
            select(FilingLine.filing_id, func.count(), func.sum(FilingLine.invoice_count),
                   *(func.sum(getattr(FilingLine, f)) for f in FIGURES))
            .where(FilingLine.filing_id.in_(rebuild_ids)).group_by(FilingLine.filing_id)).all()}
    now = utcnow()
    for filing in rebuild:
        values = totals.get(filing.id, (0, 0, *(Decimal("0") for _ in FIGURES)))
        filing.seller_count, filing.invoice_count = int(values[0]), int(values[1])
        for name, value in zip(FIGURES, values[2:], strict=True):
            setattr(filing, name, Decimal(value))
        filing.total_tax = (filing.vat + filing.urban_tax + filing.education + filing.local_education
                            + filing.income_tax)
        filing.prepared_at = now
        audit.record(uow, actor=actor, action="reverse_invoice.filing_prepared", entity_type="ri_filing",
                     entity_id=filing.id, after={"recycler_id": filing.recycler_id, "month": month.isoformat(),
                                                 "sales": str(filing.sales), "total_tax": str(filing.total_tax)})
    return [filings[r].id for r in recycler_ids]


def _filing(uow: UnitOfWork, filing_id: int, principal: Principal | None, *, write: bool = False,
            lock: bool = False) -> Filing:
    filing = uow.session.get(Filing, filing_id, with_for_update=lock or None, populate_existing=lock)
    if filing is None:
        raise NotFound("申报表不存在 / filing not found", reason="filing.not_found")
    if principal is not None:
        profile = get_profile(uow, filing.recycler_id)
        check_recycler_scope(principal, recycler_id=filing.recycler_id, county_code=profile.county_code, write=write)
    return filing


def _month_over(filing: Filing) -> None:
    """Refuse to file a month that has not ended: its later invoices would be left out of a report already filed."""
    # Monthly returns are filed in the following month's filing period (by the 15th, see filing_due_date).
    if business_date() < add_months(filing.month, 1):  # FilingReport.month_over, for the row
        raise Conflict(f"{filing.month:%Y年%m月}尚未结束,须在所属期结束后申报 / the month has not ended: file it "
                       f"from {add_months(filing.month, 1):%Y-%m-%d}", reason="filing.month_open")


def mark_filed(uow: UnitOfWork, *, principal: Principal, filing_id: int) -> FilingReport:
    """Record that the recycler filed the report with the tax bureau."""
    filing = _filing(uow, filing_id, principal, write=True, lock=True)
    if filing.state != "prepared":
        raise Conflict("该申报表已申报 / this filing is already filed", reason="filing.already_filed")
    _month_over(filing)
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
    if filing.state == "prepared":
        _month_over(filing)  # paying files it too
    before = filing.state
    now = utcnow()
    filing.state, filing.paid_at, filing.payment_reference = "paid", now, reference
    filing.filed_at = filing.filed_at or now
    audit.record(uow, actor=principal.actor, action="reverse_invoice.filing_paid", entity_type="ri_filing",
                 entity_id=filing.id, before={"state": before}, after={"state": "paid", "reference": reference})
    uow.flush()
    refresh_suspension(uow, recycler_id=filing.recycler_id, today=today or business_date(), actor=principal.actor)
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
            person = persons.view_person(uow, person_id=person_id, principal=principal,
                                         owner_checked=True)  # the filing's sellers, in scope with it
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


def prepare_own_filing(uow: UnitOfWork, *, principal: Principal, month: dt.date, today: dt.date | None = None) -> int:
    """Prepare (or rebuild, until filed) the clerk's own recycler's filing for a month up to this one."""
    recycler_id = principal.organisation_id or 0
    profile = get_profile(uow, recycler_id)
    check_recycler_scope(principal, recycler_id=recycler_id, county_code=profile.county_code, write=True)
    target = month_of(month)
    if target > month_of(today or business_date()):
        raise ValidationFailed.field("month", "所属期不能晚于本月 / the month cannot be in the future")
    if target < month_of(load_tax_rules().in_force_from):
        raise ValidationFailed.field("month", "反向开票自 2024 年 4 月起施行 / reverse invoicing began in April 2024")
    return prepare_filing(uow, recycler_id=recycler_id, month=target, actor=principal.actor)


def count_filings(uow: UnitOfWork, *, principal: Principal, month: dt.date | None = None) -> int:
    """Count the filings the caller may see."""
    return int(uow.session.scalar(select(func.count()).select_from(_visible_filings(principal, month).subquery()))
               or 0)


def _visible_filings(principal: Principal, month: dt.date | None) -> Any:
    query = select(Filing.id).join(RecyclerProfile, RecyclerProfile.organisation_id == Filing.recycler_id)
    if month is not None:
        query = query.where(Filing.month == month_of(month))
    if principal.organisation_id is not None and principal.organisation_kind is not None and \
            principal.organisation_kind.value == "recycler":
        return query.where(Filing.recycler_id == principal.organisation_id)
    if not principal.all_counties:
        query = query.where(RecyclerProfile.county_code.in_(principal.counties))
    return query


def list_filings(uow: UnitOfWork, *, principal: Principal, month: dt.date | None = None, limit: int = 200,
                 offset: int = 0) -> list[FilingReport]:
    """List the filings the caller may see, newest month first."""
    query = _visible_filings(principal, month).add_columns(Filing.recycler_id)
    rows = uow.session.execute(query.order_by(Filing.month.desc(), Filing.recycler_id).offset(offset)
                               .limit(limit)).all()
    return [filing_report(uow, principal=principal, filing_id=row[0]) for row in rows]
