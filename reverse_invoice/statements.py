"""The seller's annual statement of reverse-invoiced sales and prepaid tax, for their return due 31 March."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from reverse_invoice.models import Invoice, RecyclerProfile
from reverse_invoice.sellers import SellerView, view_seller
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StatementRow:
    """Sales and taxes for one month or one recycler."""

    key: str
    label: str
    invoice_count: int
    sales: Decimal
    vat: Decimal
    surcharges: Decimal
    income_tax: Decimal


@dataclass(frozen=True)
class AnnualStatement:
    """A seller's year: sales by month and by recycler, VAT and surcharges paid for them, income tax prepaid."""

    seller: SellerView
    year: int
    return_due: dt.date
    months: tuple[StatementRow, ...]
    recyclers: tuple[StatementRow, ...]
    total: StatementRow


def _sums() -> tuple[Any, ...]:
    return (func.count(), func.coalesce(func.sum(Invoice.amount), 0), func.coalesce(func.sum(Invoice.vat), 0),
            func.coalesce(func.sum(Invoice.urban_tax + Invoice.education + Invoice.local_education), 0),
            func.coalesce(func.sum(Invoice.income_tax), 0))


def _row(key: str, label: str, values: Sequence[Any]) -> StatementRow:
    count, sales, vat, surcharges, income = values
    fen = [Decimal(str(v)).quantize(ZERO) for v in (sales, vat, surcharges, income)]  # "0.00", not "0"
    return StatementRow(key, label, int(str(count)), *fen)


def annual_statement(uow: UnitOfWork, *, principal: Principal, seller_id: int, year: int) -> AnnualStatement:
    """Build a seller's annual statement across all recyclers (by the month each sale belongs to)."""
    if not 2024 <= year <= 2100:
        raise ValidationFailed.field("year", "年度应在 2024 年以后 / reverse invoicing began in 2024")
    seller = view_seller(uow, principal=principal, seller_id=seller_id)  # a clerk without consent: 404
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    scope = (Invoice.seller_id == seller_id, Invoice.tax_month >= start, Invoice.tax_month < end)
    month_rows = uow.session.execute(
        select(Invoice.tax_month, *_sums()).where(*scope).group_by(Invoice.tax_month)).all()
    by_month: dict[dt.date, Sequence[Any]] = {row[0]: tuple(row[1:]) for row in month_rows}
    months = tuple(_row(f"{year}-{m:02d}", f"{year}年{m}月", by_month.get(dt.date(year, m, 1), (0, 0, 0, 0, 0)))
                   for m in range(1, 13))
    recycler_rows = uow.session.execute(
        select(Invoice.recycler_id, RecyclerProfile.name, *_sums())
        .join(RecyclerProfile, RecyclerProfile.organisation_id == Invoice.recycler_id)
        .where(*scope).group_by(Invoice.recycler_id, RecyclerProfile.name).order_by(Invoice.recycler_id)).all()
    recyclers = tuple(_row(str(row[0]), str(row[1]), tuple(row[2:])) for row in recycler_rows)
    total = _row("total", "合计", tuple(uow.session.execute(select(*_sums()).where(*scope)).one()))
    return AnnualStatement(seller, year, load_tax_rules().annual_return_due_date(year), months, recyclers, total)
