"""What the budget pools show dashboards and the CLI: figures, burn rate, the pools in scope and their county."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from subsidy_app.core.clock import business_date, day_start
from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import escrow
from subsidy_app.rules.budget_pools import CENT
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation


@dataclass(frozen=True)
class PoolFigures:
    """A pool's figures and burn rate, as dashboards and the CLI show them."""

    id: int
    programme: str
    county_code: str
    name: str
    allocated: Decimal
    reserved: Decimal
    spent: Decimal
    remaining: Decimal
    queued_count: int
    queued_amount: Decimal
    central: Decimal
    provincial: Decimal
    city: Decimal
    burn_per_day: Decimal
    days_left: int | None


def pool_figures(uow: UnitOfWork, *, pool_id: int, today: dt.date | None = None) -> PoolFigures:
    """Return a pool's figures and its burn rate over the last 30 days."""
    pool = uow.session.get(BudgetPool, pool_id)
    if pool is None:
        raise NotFound("资金池不存在 / budget pool not found", reason="budget.pool_not_found")
    since = day_start(today or business_date()) - dt.timedelta(days=30)
    sums = dict(uow.session.execute(
        select(BudgetEntry.kind, func.coalesce(func.sum(BudgetEntry.amount), 0))
        .where(BudgetEntry.pool_id == pool.id, BudgetEntry.created_at >= since,
               BudgetEntry.kind.in_(("reserve", "release")))
        .group_by(BudgetEntry.kind)).all())
    burn = ((Decimal(sums.get("reserve", 0)) - Decimal(sums.get("release", 0))) / 30).quantize(CENT)
    queued_count, queued_amount = uow.session.execute(
        select(func.count(), func.coalesce(func.sum(BudgetReservation.amount), 0))
        .where(BudgetReservation.pool_id == pool.id, BudgetReservation.state == "queued")).one()
    reserved = pool.reserved - escrow.held(uow, [pool.id]).get(pool.id, Decimal("0.00"))  # escrow is free money
    remaining = pool.allocated - reserved - pool.spent
    return PoolFigures(
        pool.id, pool.programme, pool.county_code, pool.name, pool.allocated, reserved, pool.spent, remaining,
        int(queued_count), Decimal(queued_amount), pool.central, pool.provincial, pool.city, burn,
        int(remaining / burn) if burn > 0 else None,
    )


def list_pool_ids(uow: UnitOfWork, *, counties: frozenset[str] | None = None, programme: str | None = None
                  ) -> list[int]:
    """List pools, optionally within counties and for one programme."""
    query = select(BudgetPool.id).order_by(BudgetPool.county_code, BudgetPool.programme, BudgetPool.id)
    if counties is not None:
        query = query.where(BudgetPool.county_code.in_(counties))
    if programme:
        query = query.where(BudgetPool.programme == programme)
    return list(uow.session.scalars(query))


def pool_county(uow: UnitOfWork, *, pool_id: int) -> str:
    """Return the county a pool belongs to (for scope checks)."""
    county = uow.session.scalar(select(BudgetPool.county_code).where(BudgetPool.id == pool_id))
    if county is None:
        raise NotFound("资金池不存在 / budget pool not found", reason="budget.pool_not_found")
    return county
