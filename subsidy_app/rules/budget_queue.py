"""The queue of approvals waiting for a pool: first come by submission time, funded in order when money comes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Exists, select

from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.budget_pools import entry, fits
from subsidy_app.rules.budget_thresholds import notify_thresholds
from subsidy_app.rules.models import BudgetPool, BudgetReservation


def queued(pool_id: Any) -> Exists:
    """Whether approvals wait in a pool's queue (`pool_id` a value or a column)."""
    return select(BudgetReservation.id).where(BudgetReservation.pool_id == pool_id,
                                              BudgetReservation.state == "queued").exists()


def queue_is_empty(uow: UnitOfWork, pool: BudgetPool) -> bool:
    """Tell whether no approval waits for this locked pool; while we hold its lock nobody else can queue one."""
    key = f"budget.queue_empty.{pool.id}"
    if key not in uow.tx_cache:
        uow.tx_cache[key] = not uow.session.scalar(select(queued(pool.id)))
    return bool(uow.tx_cache[key])


def note_queued(uow: UnitOfWork, pool: BudgetPool) -> None:
    """Remember for the transaction that an approval now waits for this locked pool."""
    uow.tx_cache[f"budget.queue_empty.{pool.id}"] = False


def take(uow: UnitOfWork, pool: BudgetPool, row: BudgetReservation, actor: str) -> None:
    """Reserve a reservation's amount from its locked pool (the caller checked that it fits)."""
    pool.reserved += row.amount
    row.state, row.funded_at = "reserved", utcnow()
    entry(uow, pool, "reserve", row.amount, actor, reference=row.reference)
    audit.record(uow, actor=actor, action="budget.reserved", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": row.reference, "amount": str(row.amount)})
    notify_thresholds(uow, pool)


def fund_queue(uow: UnitOfWork, pool: BudgetPool, actor: str) -> list[str]:
    """Fund waiting approvals strictly in order; stop at the first that does not fit."""
    uow.tx_cache.pop(f"budget.queue_empty.{pool.id}", None)
    funded: list[str] = []
    queue = uow.session.scalars(
        select(BudgetReservation)
        .where(BudgetReservation.pool_id == pool.id, BudgetReservation.state == "queued")
        .order_by(BudgetReservation.submitted_at, BudgetReservation.id)
    )
    for row in queue:
        if not fits(pool, row.amount):
            break
        take(uow, pool, row, actor)
        funded.append(row.reference)
        if row.on_funded_job:
            uow.enqueue(row.on_funded_job, reference=row.reference)
    return funded
