"""Budget use thresholds: the county bureau is told once per crossing of 80 % and 95 % of a pool in use."""

from __future__ import annotations

from decimal import Decimal

from subsidy_app.audit import services as audit
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules import escrow
from subsidy_app.rules.models import BudgetPool

THRESHOLDS = (80, 95)  # per cent of the allocation in use; the county bureau is told once per crossing


def _use_percent(pool: BudgetPool, held: Decimal = Decimal("0.00")) -> Decimal:
    # `held`: what the pool's escrow tranches hold, counted in `reserved` but free (rules.escrow).
    return use_percent(pool.allocated, pool.reserved - held, pool.spent)


def use_percent(allocated: Decimal, reserved: Decimal, spent: Decimal) -> Decimal:
    """Return the share of an allocation in use (reserved or spent), in per cent."""
    return (reserved + spent) * 100 / allocated if allocated > 0 else Decimal(0)


def crosses_threshold(used_percent: Decimal, notified_level: int) -> bool:
    """Tell whether a pool this far in use has passed a threshold the bureau has not been told of."""
    return any(used_percent >= level > notified_level for level in THRESHOLDS)


def notify_thresholds(uow: UnitOfWork, pool: BudgetPool) -> None:
    """Tell the county bureau, once per crossing, that the pool (locked by the caller) passed a use threshold."""
    held = escrow.held(uow, [pool.id]).get(pool.id, Decimal("0.00")) if escrow.in_use(uow) else Decimal("0.00")
    used = _use_percent(pool, held)
    for level in THRESHOLDS:
        if used >= level > pool.notified_level:
            pool.notified_level = level
            title = f"资金池使用已达 {level}% / budget pool {level}% used"
            body = (f"{COUNTIES[pool.county_code]} {pool.name}:已分配 {pool.allocated} 元,已占用 "
                    f"{pool.reserved - held + pool.spent} 元({used:.1f}%)。")
            identity.notify_county(uow, county_code=pool.county_code, kind=f"budget.threshold_{level}",
                                   title=title, body=body, entity_type="budget_pool", entity_id=pool.id)
            audit.record(uow, actor="system", action=f"budget.threshold_{level}", entity_type="budget_pool",
                         entity_id=pool.id, after={"used_percent": f"{used:.1f}"})


def reset_notified_level(pool: BudgetPool) -> None:
    """After money came back to a locked pool, let the thresholds it is now under be told of again."""
    used = _use_percent(pool)
    pool.notified_level = max([0, *[level for level in THRESHOLDS if used >= level]])
