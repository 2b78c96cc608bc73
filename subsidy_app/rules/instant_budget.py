"""Budget for discounts granted at once (at the till or in a bulk file): funded now from the county's pool or
refused, never queued.

Every instant discount in a county reserves from the same pool row. Locked when the sale starts writing, that
row would serialise whole sales (32 tills queued on it); the till therefore reserves as its transaction's last
writes (`reserve_at_commit`), so the row is locked only for those and the commit. A bulk file locks it once per
chunk. Both go through `InstantBatch`: the pool locked, its queue looked at once (while approvals wait, a
discount that can't wait is refused), `reserved + spent <= allocated` checked under the lock (`budget_pools.fits`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from subsidy_app.audit import services as audit
from subsidy_app.core.db import insert_rows, is_postgres, utcnow
from subsidy_app.core.errors import Conflict, DomainError
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import budget_pools, budget_queue, budget_thresholds, escrow
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation

_PENDING = "budget.instant_reservations"


@dataclass(frozen=True)
class InstantRequest:
    """A discount granted at once, to be funded from its county's pool for the programme."""

    programme: str
    county_code: str
    reference: str  # new: no reservation has it yet
    amount: Decimal
    submitted_at: dt.datetime


def _exhausted() -> Conflict:
    return Conflict("本区县补贴资金已用完 / the subsidy budget of this county is used up", reason="budget.exhausted")


@dataclass
class _Pool:
    """A locked pool's figures, as this batch changes them."""

    id: int
    allocated: Decimal
    reserved: Decimal
    spent: Decimal
    notified_level: int
    queued: bool
    moved: Decimal = Decimal("0.00")  # into escrow tranches (+) or drained back from them (-), in `reserved`
    drained: bool = False


class InstantBatch:
    """Instant discounts of one transaction: their pools found, then locked and read with their queues in one
    statement (in id order), discounts taken in order in memory, then written in one statement per pool (`write`).

    This is the only writer of instant reservations: the till funds one discount, a bulk file a chunk. Two round
    trips hold the pool's lock before COMMIT, whatever the number of discounts.
    """

    def __init__(self, uow: UnitOfWork, *, actor: str, requests: list[InstantRequest], refill: bool = False) -> None:
        self._uow, self._actor, self._refill = uow, actor, refill and escrow.in_use(uow)
        found: dict[tuple[str, str], int | DomainError] = {}
        for programme, county_code in sorted({(r.programme, r.county_code) for r in requests}):
            try:
                found[(programme, county_code)] = budget_pools.pool_for(uow, programme=programme,
                                                                        county_code=county_code)
            except DomainError as exc:  # 409 budget.no_pool
                found[(programme, county_code)] = exc
        ids = sorted({p for p in found.values() if isinstance(p, int)})
        uow.flush()  # a pool this transaction changed through the ORM is read as changed
        locked = {r.id: _Pool(*r) for r in uow.session.execute(_LOCK, {"ids": ids})} if ids else {}
        self._pools = {k: p if isinstance(p, DomainError) else locked[p] for k, p in found.items()}
        self._taken: dict[int, list[InstantRequest]] = {}

    def refusal(self, request: InstantRequest) -> DomainError | None:
        """Say why `request` can't be funded now (409 budget.no_pool or budget.exhausted), or None."""
        pool = self._pools[(request.programme, request.county_code)]
        if isinstance(pool, DomainError):
            return pool
        try:
            value = budget_pools.money(request.amount, "amount")
        except DomainError as exc:
            return exc
        # A discount can't wait: with approvals queued for this pool, or too little left, it is refused.
        if pool.queued:
            return _exhausted()
        if not budget_pools.fits(pool, value) and not pool.drained:
            self._drain(pool)  # what the escrow tranches hold is free money: the last yuan can still be sold
        return None if budget_pools.fits(pool, value) else _exhausted()

    def _drain(self, pool: _Pool) -> None:
        """Bring every escrow tranche of the locked pool back into it (locks: pool first, then tranches)."""
        back = escrow.drain(self._uow, pool_id=pool.id)
        pool.reserved -= back
        pool.moved -= back
        pool.drained = True

    def take(self, request: InstantRequest) -> int:
        """Take the money `refusal` found free; return the pool's id."""
        pool = self._pools[(request.programme, request.county_code)]
        assert isinstance(pool, _Pool)
        pool.reserved += request.amount
        self._taken.setdefault(pool.id, []).append(request)
        return pool.id

    def write(self, *, audited: bool = True) -> None:
        """Write one reservation and one ledger line per discount taken, and each pool's new sum."""
        uow, session = self._uow, self._uow.session
        for pool_id, taken in self._taken.items():
            pool = next(p for p in self._pools.values() if isinstance(p, _Pool) and p.id == pool_id)
            if self._refill and not pool.drained:  # the till went the pool's way: give its tranche a new slice
                chunk = escrow.refill_amount(pool.allocated - pool.reserved - pool.spent, taken[-1].amount)
                if chunk > 0:
                    escrow.refill(uow, pool_id=pool_id, amount=chunk)
                    pool.reserved += chunk
                    pool.moved += chunk
            _write(uow, self._actor, pool_id, taken, pool.moved)
            if audited:
                _audit(uow, self._actor, pool_id, taken)
            known = session.identity_map.get(identity_key(BudgetPool, pool_id))
            if known is not None:  # the session's copy of the row, kept true without another read
                set_committed_value(known, "reserved", pool.reserved)
            held = escrow.held(uow, [pool_id]).get(pool_id, Decimal("0.00")) if escrow.in_use(uow) else Decimal(0)
            used = budget_thresholds.use_percent(pool.allocated, pool.reserved - held, pool.spent)
            if budget_thresholds.crosses_threshold(used, pool.notified_level):  # rare: the ORM path tells the bureau
                budget_thresholds.notify_thresholds(uow, budget_pools.locked_pool(uow, pool_id))
        for other in self._pools.values():  # a drain with nothing taken (a chunk's rows all refused) still counts
            if isinstance(other, _Pool) and other.id not in self._taken and other.moved:
                _write(uow, self._actor, other.id, [], other.moved)
                known = session.identity_map.get(identity_key(BudgetPool, other.id))
                if known is not None:
                    set_committed_value(known, "reserved", other.reserved)
        self._taken = {}


def _write(uow: UnitOfWork, actor: str, pool_id: int, taken: list[InstantRequest],
           moved: Decimal = Decimal("0.00")) -> None:
    total = sum((r.amount for r in taken), Decimal("0.00")) + moved
    now, session = utcnow(), uow.session
    if is_postgres(session):  # one round trip for any number of discounts
        session.execute(_WRITE, {"pool_id": pool_id, "total": total, "now": now, "actor": actor,
                                 "refs": [r.reference for r in taken], "amounts": [r.amount for r in taken],
                                 "submitted": [r.submitted_at for r in taken]})
        return
    session.execute(update(POOL).where(POOL.c.id == pool_id).values(reserved=POOL.c.reserved + total))
    insert_rows(session, BudgetReservation, [
        {"pool_id": pool_id, "reference": r.reference, "amount": r.amount, "state": "reserved",
         "submitted_at": r.submitted_at, "funded_at": now, "created_at": now} for r in taken])
    insert_rows(session, BudgetEntry, [
        {"pool_id": pool_id, "kind": "reserve", "amount": r.amount, "reference": r.reference, "actor": actor,
         "created_at": now} for r in taken])


POOL: Table = BudgetPool.__table__  # type: ignore[assignment]
# Built once (the till runs them for every sale): lock the pools in id order and read their sums and queues.
# FOR NO KEY UPDATE (key_share): it serialises the pool's writers as FOR UPDATE would, yet lets a sale funded from an
# escrow tranche check its reservation's foreign key to the pool (a key-share lock) without waiting for the row.
_LOCK = (select(POOL.c.id, POOL.c.allocated, POOL.c.reserved, POOL.c.spent, POOL.c.notified_level,
                budget_queue.queued(POOL.c.id).label("queued"))
         .where(POOL.c.id.in_(bindparam("ids", expanding=True))).order_by(POOL.c.id)
         .with_for_update(of=POOL, key_share=True))
# The pool's new sum, the reservations and their ledger lines, from arrays: one statement for 1 or 5,000.
_WRITE = text(
    "WITH pool AS (UPDATE budget_pool SET reserved = reserved + CAST(:total AS numeric) "
    "WHERE id = CAST(:pool_id AS bigint)), "
    "items AS (SELECT * FROM unnest(CAST(:refs AS varchar[]), CAST(:amounts AS numeric[]), "
    "CAST(:submitted AS timestamptz[])) AS t(reference, amount, submitted_at)), "
    "reservation AS (INSERT INTO budget_reservation (pool_id, reference, amount, state, submitted_at, created_at, "
    "funded_at) SELECT CAST(:pool_id AS bigint), reference, amount, 'reserved', submitted_at, "
    "CAST(:now AS timestamptz), CAST(:now AS timestamptz) FROM items) "
    "INSERT INTO budget_entry (pool_id, kind, amount, reference, actor, created_at) "
    "SELECT CAST(:pool_id AS bigint), 'reserve', amount, reference, CAST(:actor AS varchar), "
    "CAST(:now AS timestamptz) FROM items")


def _audit(uow: UnitOfWork, actor: str, pool_id: int, taken: list[InstantRequest]) -> None:
    total = sum((r.amount for r in taken), Decimal("0.00"))
    after = {"reference": taken[0].reference, "amount": str(total)} if len(taken) == 1 else {
        "references": [r.reference for r in taken], "amount": str(total)}
    audit.record(uow, actor=actor, action="budget.reserved", entity_type="budget_pool", entity_id=pool_id,
                 after=after)


def reserve_many(uow: UnitOfWork, *, actor: str, requests: list[InstantRequest], audited: bool = True,
                 refill: bool = False) -> list[int | DomainError]:
    """Fund each discount in order from its pool now: the pool's id, or the 409 that refused it.

    `refill`: a till's sale that found its escrow tranche short refills it from the pool (rules.escrow).
    """
    batch = InstantBatch(uow, actor=actor, requests=requests, refill=refill)
    outcomes: list[int | DomainError] = []
    for request in requests:
        refused = batch.refusal(request)
        outcomes.append(batch.take(request) if refused is None else refused)
    batch.write(audited=audited)
    return outcomes


def reserve_at_commit(uow: UnitOfWork, *, actor: str, programme: str, county_code: str, reference: str,
                      amount: Decimal, submitted_at: dt.datetime) -> int:
    """Have `amount` reserved for a sale granted at the till when this transaction commits; return the pool id.

    The pool is found now (409 budget.no_pool). At commit, a pool that can't fund the sale, or whose queue
    holds approvals, raises 409 budget.exhausted and the whole sale is rolled back. `reference` must be new.
    """
    value = budget_pools.money(amount, "amount")
    pool_id = budget_pools.pool_for(uow, programme=programme, county_code=county_code)
    request = InstantRequest(programme, county_code, reference, value, submitted_at)
    uow.context.setdefault(_PENDING, []).append((actor, request))
    uow.last_before_commit(_PENDING, _reserve_pending)
    # Recorded now, not under the pool's lock at commit: a refusal rolls it back with the sale.
    _audit(uow, actor, pool_id, [request])
    return pool_id


def _reserve_pending(uow: UnitOfWork) -> None:
    """The last writes before COMMIT: take each pending discount from its pool, or refuse the whole sale."""
    by_actor: dict[str, list[InstantRequest]] = {}
    for actor, request in uow.context.pop(_PENDING, []):
        by_actor.setdefault(actor, []).append(request)
    for actor, requests in by_actor.items():
        if escrow.in_use(uow):
            # From this thread's escrow tranche when it holds enough: the pool row is not touched at all.
            now = utcnow()
            requests = [r for r in requests if not escrow.take(
                uow, pool_id=budget_pools.pool_for(uow, programme=r.programme, county_code=r.county_code),
                amount=r.amount, reference=r.reference, actor=actor, submitted=r.submitted_at, now=now)]
            if not requests:
                continue
        for outcome in reserve_many(uow, actor=actor, requests=requests, audited=False, refill=True):
            if isinstance(outcome, DomainError):
                raise outcome
