"""What the bureau's spot checks read of appliance sales: a period's funded instant discounts and one sale's subject."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.appliances.dealer_queries import STATE_ZH
from subsidy_app.appliances.domain import CATEGORY_ZH, SaleMode, SaleState
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications.spot_reads import Subject
from subsidy_app.core.uow import UnitOfWork

# An instant discount is funded at the till: granted, or on a dealer statement. The statement itself is never sampled.
FUNDED_SALE_STATES = (SaleState.GRANTED.value, SaleState.SETTLING.value)


@dataclass(frozen=True)
class FundedSale:
    """A funded instant discount, with whether a fraud signal was raised on it."""

    id: int
    number: str
    county_code: str
    dealer_org_id: int
    amount: Decimal
    flagged: bool


def funded_instant_sales(uow: UnitOfWork, *, programme: str, start: dt.datetime, end: dt.datetime
                         ) -> list[FundedSale]:
    """Return a programme's instant discounts sold in [start, end) that are granted or on a statement."""
    rows = uow.session.execute(select(
        ApplianceSale.id, ApplianceSale.number, ApplianceSale.county_code, ApplianceSale.dealer_org_id,
        ApplianceSale.amount, ApplianceSale.signals)
        .where(ApplianceSale.programme == programme, ApplianceSale.mode == SaleMode.INSTANT.value,
               ApplianceSale.state.in_(FUNDED_SALE_STATES), ApplianceSale.sold_at >= start,
               ApplianceSale.sold_at < end)).all()
    return [FundedSale(row.id, row.number, row.county_code, row.dealer_org_id, row.amount, bool(row.signals))
            for row in rows]


def sale_subject(uow: UnitOfWork, *, sale_id: int) -> Subject:
    """Return one sale's state in words, its product (category and GTIN) and its buyer."""
    sale = uow.session.get(ApplianceSale, sale_id)
    assert sale is not None  # an item names a sale that exists (sales are never deleted)
    return Subject(STATE_ZH.get(sale.state, sale.state), "商品",
                   f"{CATEGORY_ZH.get(sale.category, sale.category)} · 商品条码 {sale.gtin}", sale.person_id)
