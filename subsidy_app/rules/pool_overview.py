"""Every budget pool's standing at once, for the dashboard: two queries however many pools there are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import escrow
from subsidy_app.rules.budget_thresholds import THRESHOLDS, use_percent
from subsidy_app.rules.models import BudgetPool, BudgetReservation


@dataclass(frozen=True)
class PoolStanding:
    """A pool's money and queue, and the highest use threshold it has crossed (0 when none)."""

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
    used_percent: Decimal
    warning_level: int


def standings(uow: UnitOfWork, *, counties: Iterable[str] | None = None) -> list[PoolStanding]:
    """Return every pool (optionally within counties) with its queue, in county and programme order."""
    query = select(BudgetPool).order_by(BudgetPool.county_code, BudgetPool.programme, BudgetPool.id)
    if counties is not None:
        query = query.where(BudgetPool.county_code.in_(list(counties)))
    pools = list(uow.session.scalars(query))
    queued = {pool_id: (int(n), Decimal(total)) for pool_id, n, total in uow.session.execute(
        select(BudgetReservation.pool_id, func.count(), func.coalesce(func.sum(BudgetReservation.amount), 0))
        .where(BudgetReservation.state == "queued", BudgetReservation.pool_id.in_([p.id for p in pools]))
        .group_by(BudgetReservation.pool_id))} if pools else {}
    held = escrow.held(uow, [p.id for p in pools])  # escrow tranches: counted in `reserved`, but free money
    rows = []
    for pool in pools:
        reserved = pool.reserved - held.get(pool.id, Decimal("0.00"))
        used = use_percent(pool.allocated, reserved, pool.spent)
        count, amount = queued.get(pool.id, (0, Decimal("0.00")))
        rows.append(PoolStanding(pool.id, pool.programme, pool.county_code, pool.name, pool.allocated,
                                 reserved, pool.spent, pool.allocated - reserved - pool.spent, count,
                                 amount, used, max([0, *[level for level in THRESHOLDS if used >= level]])))
    return rows
