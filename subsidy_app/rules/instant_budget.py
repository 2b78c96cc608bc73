"""Budget for a discount granted at the till: reserved by one statement as the sale's transaction commits.

Every instant discount in a county reserves from the same pool row. Locked when the sale starts writing, that
row would serialise whole sales (32 tills queued on it); reserved as the transaction's last statement, the row
is locked only for that statement and the commit. The statement funds the sale only if the pool can and no
approval waits in its queue (a till can't wait), so `reserved + spent <= allocated` holds without a prior read.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Table, bindparam, insert, literal, select, update

from subsidy_app.audit import services as audit
from subsidy_app.core.db import is_postgres, utcnow
from subsidy_app.core.errors import Conflict
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import budget
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation

_PENDING = "budget.instant_reservations"
POOL: Table = BudgetPool.__table__  # type: ignore[assignment]
RESERVATION: Table = BudgetReservation.__table__  # type: ignore[assignment]
ENTRY: Table = BudgetEntry.__table__  # type: ignore[assignment]


def reserve_at_commit(uow: UnitOfWork, *, actor: str, programme: str, county_code: str, reference: str,
                      amount: Decimal, submitted_at: dt.datetime) -> int:
    """Have `amount` reserved for a sale granted at the till when this transaction commits; return the pool id.

    The pool is found now (409 budget.no_pool). At commit, a pool that can't fund the sale, or whose queue
    holds approvals, raises 409 budget.exhausted and the whole sale is rolled back. `reference` must be new.
    """
    value = budget.money(amount, "amount")
    pool_id = budget.pool_for(uow, programme=programme, county_code=county_code)
    uow.context.setdefault(_PENDING, []).append((pool_id, reference, value, submitted_at, actor))
    uow.last_before_commit(_PENDING, _reserve_pending)
    audit.record(uow, actor=actor, action="budget.reserved", entity_type="budget_pool", entity_id=pool_id,
                 after={"reference": reference, "amount": str(value)})
    return pool_id


def _reserve_pending(uow: UnitOfWork) -> None:
    """The last writes before COMMIT: take each pending reservation from its pool, or refuse the sale."""
    for pool_id, reference, value, submitted_at, actor in uow.context.pop(_PENDING, []):
        figures = _take(uow, pool_id, reference, value, submitted_at, actor)
        if figures is None:
            raise Conflict("本区县补贴资金已用完 / the subsidy budget of this county is used up",
                           reason="budget.exhausted")
        used = budget.use_percent(figures.allocated, figures.reserved, figures.spent)
        if budget.crosses_threshold(used, figures.notified_level):  # rare: the ORM path tells the bureau
            pool = uow.session.scalar(select(BudgetPool).where(BudgetPool.id == pool_id)
                                      .execution_options(populate_existing=True))  # locked by our UPDATE
            assert pool is not None
            budget.notify_thresholds(uow, pool)


def _take(uow: UnitOfWork, pool_id: int, reference: str, value: Decimal, submitted_at: dt.datetime,
          actor: str) -> Row[Any] | None:
    """Add to the pool's reserved sum if it fits and nobody queues; write the reservation and its ledger line."""
    now = utcnow()
    params = {"pool_id": pool_id, "amount": value, "reference": reference, "submitted_at": submitted_at,
              "actor": actor, "now": now}
    session = uow.session
    if is_postgres(session):  # one round trip, so the row lock lasts one statement and the commit
        return session.execute(_TAKE_ALL, params).first()
    row = session.execute(_TAKE_POOL, params).first()  # SQLite: one writer at a time, no writing CTEs
    if row is not None:
        session.execute(insert(RESERVATION).values(
            pool_id=pool_id, reference=reference, amount=value, state="reserved", submitted_at=submitted_at,
            created_at=now, funded_at=now))
        session.execute(insert(ENTRY).values(pool_id=pool_id, kind="reserve", amount=value, reference=reference,
                                             actor=actor, created_at=now))
    return row


def _statements() -> tuple[Any, Any]:
    """Build the reservation statements once (bound parameters only): building and keying them cost more per
    sale than running them."""
    pool_id, amount = bindparam("pool_id", type_=POOL.c.id.type), bindparam("amount", type_=POOL.c.reserved.type)
    # Read committed: a queued approval committed while we waited for the row lock is not seen by the
    # NOT EXISTS (its snapshot is the statement's), so a sale may then go ahead of it; the pool's sums still hold.
    queued = select(RESERVATION.c.id).where(RESERVATION.c.pool_id == pool_id,
                                            RESERVATION.c.state == "queued").exists()
    take_pool = (update(POOL)
                 .where(POOL.c.id == pool_id, POOL.c.reserved + POOL.c.spent + amount <= POOL.c.allocated, ~queued)
                 .values(reserved=POOL.c.reserved + amount)
                 .returning(POOL.c.id, POOL.c.allocated, POOL.c.reserved, POOL.c.spent, POOL.c.notified_level))
    taken = take_pool.cte("taken")
    reference = bindparam("reference", type_=RESERVATION.c.reference.type)
    now = bindparam("now", type_=RESERVATION.c.created_at.type)
    reserve = insert(RESERVATION).from_select(
        ["pool_id", "reference", "amount", "state", "submitted_at", "created_at", "funded_at"],
        select(taken.c.id, reference, amount, literal("reserved"),
               bindparam("submitted_at", type_=RESERVATION.c.submitted_at.type), now, now)).cte("reservation")
    ledger = insert(ENTRY).from_select(
        ["pool_id", "kind", "amount", "reference", "actor", "created_at"],
        select(taken.c.id, literal("reserve"), amount, reference, bindparam("actor", type_=ENTRY.c.actor.type),
               now)).cte("ledger")
    return take_pool, select(taken).add_cte(reserve, ledger)


_TAKE_POOL, _TAKE_ALL = _statements()
