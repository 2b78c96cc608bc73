"""Budget pools: allocate, reserve on approval, release, spend on payment, adjust; never over-committed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Exists, bindparam, func, select

from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date, day_start
from subsidy_app.core.db import slices, utcnow
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules.domain import Programme
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation

SOURCES = ("central", "provincial", "city")
THRESHOLDS = (80, 95)  # per cent of the allocation in use; the county bureau is told once per crossing
CENT = Decimal("0.01")


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


@dataclass(frozen=True)
class ReserveOutcome:
    """What an approval got: `reserved` now, or `queued` until the pool is topped up."""

    reference: str
    state: str


def money(value: Decimal, field: str, *, allow_negative: bool = False) -> Decimal:
    """Return an amount of money checked to be non-zero (positive unless allowed) with at most two decimals."""
    amount = value.quantize(CENT)
    if amount != value or (amount <= 0 and not allow_negative) or amount == 0:
        message = "金额须为非零且最多两位小数 / amount must be non-zero with at most 2 decimals"
        raise ValidationFailed.field(field, message)
    return amount


def locked_pool(uow: UnitOfWork, pool_id: int) -> BudgetPool:
    """Lock a pool for this transaction and return it read afresh (locked once per transaction)."""
    key = f"budget.pool_locked.{pool_id}"
    cached: BudgetPool | None = uow.tx_cache.get(key)
    if cached is not None:
        return cached  # already locked by this transaction: a batch approval locks it once
    # populate_existing: sessions keep their rows across commits, and the sums must be read under this lock.
    pool = uow.session.scalar(select(BudgetPool).where(BudgetPool.id == pool_id).with_for_update()
                              .execution_options(populate_existing=True))
    if pool is None:
        raise NotFound("资金池不存在 / budget pool not found", reason="budget.pool_not_found")
    uow.tx_cache[key] = pool
    return pool


def pool_for(uow: UnitOfWork, *, programme: str, county_code: str) -> int:
    """Return a county's pool for a programme (the first one opened); 409 budget.no_pool when it has none.

    The answer is kept for the transaction.
    """
    key = f"budget.pool_of.{programme}.{county_code}"
    known: int | None = uow.tx_cache.get(key)
    if known is not None:
        return known
    pool_id = uow.session.scalar(_FIRST_POOL_ID, {"programme": programme, "county_code": county_code})
    if pool_id is None:
        raise Conflict("该区县尚未设立此项目的资金池 / no budget pool for this programme in this county",
                       reason="budget.no_pool")
    uow.tx_cache[key] = pool_id
    return int(pool_id)


# Built once, as every sale at a till looks its pool up.
_FIRST_POOL_ID = (select(BudgetPool.id).where(BudgetPool.programme == bindparam("programme"),
                                              BudgetPool.county_code == bindparam("county_code"))
                  .order_by(BudgetPool.id).limit(1))


class Sums(Protocol):
    """A pool's three sums, as a locked row (ORM or Core) holds them."""

    allocated: Decimal
    reserved: Decimal
    spent: Decimal


def fits(pool: Sums, amount: Decimal) -> bool:
    """Tell whether a locked pool can fund `amount` without being over-committed (reserved + spent <= allocated)."""
    return pool.reserved + pool.spent + amount <= pool.allocated


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


def _entry(uow: UnitOfWork, pool: BudgetPool, kind: str, amount: Decimal, actor: str, *,
           reference: str | None = None, source: str | None = None, reason: str | None = None) -> None:
    uow.session.add(BudgetEntry(pool_id=pool.id, kind=kind, amount=amount, reference=reference, source=source,
                                reason=reason, actor=actor))


def create_pool(uow: UnitOfWork, *, actor: str, programme: str, county_code: str, name: str) -> int:
    """Open an empty pool for a programme in a county."""
    Programme(programme)
    if county_code not in COUNTIES:
        raise ValidationFailed.field("county_code", "不是吕梁市的区县代码 / not a Lüliang county code")
    clash = uow.session.scalar(select(BudgetPool.id).where(
        BudgetPool.programme == programme, BudgetPool.county_code == county_code, BudgetPool.name == name))
    if clash is not None:
        raise Conflict("同名资金池已存在 / a pool with this name exists", reason="budget.pool_exists")
    pool = BudgetPool(programme=programme, county_code=county_code, name=name)
    uow.session.add(pool)
    uow.flush()
    audit.record(uow, actor=actor, action="budget.pool_created", entity_type="budget_pool", entity_id=pool.id,
                 after={"programme": programme, "county": county_code, "name": name})
    return pool.id


def allocate(uow: UnitOfWork, *, actor: str, pool_id: int, amount: Decimal, source: str) -> list[str]:
    """Add money from a funding source, then fund waiting approvals in order; return their references."""
    if source not in SOURCES:
        raise ValidationFailed.field("source", "资金来源应为 central/provincial/city / source must be central, "
                                               "provincial or city")
    value = money(amount, "amount")
    pool = locked_pool(uow, pool_id)
    pool.allocated += value
    setattr(pool, source, getattr(pool, source) + value)
    _entry(uow, pool, "allocate", value, actor, source=source)
    audit.record(uow, actor=actor, action="budget.allocated", entity_type="budget_pool", entity_id=pool.id,
                 after={"amount": str(value), "source": source, "allocated": str(pool.allocated)})
    return _fund_queue(uow, pool, actor)


def adjust(uow: UnitOfWork, *, actor: str, pool_id: int, amount: Decimal, reason: str) -> list[str]:
    """Correct the allocation up or down with a reason (admins only); never below what is committed."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "调整必须说明原因 / an adjustment needs a reason")
    value = money(amount, "amount", allow_negative=True)
    pool = locked_pool(uow, pool_id)
    if pool.allocated + value < pool.reserved + pool.spent:
        raise Conflict("调减后低于已占用金额 / the allocation would fall below reserved + spent",
                       reason="budget.overcommitted")
    pool.allocated += value
    _entry(uow, pool, "adjust", value, actor, reason=reason.strip())
    audit.record(uow, actor=actor, action="budget.adjusted", entity_type="budget_pool", entity_id=pool.id,
                 after={"amount": str(value), "reason": reason.strip(), "allocated": str(pool.allocated)})
    _reset_notified_level(pool)
    return _fund_queue(uow, pool, actor) if value > 0 else []


def reserve(uow: UnitOfWork, *, actor: str, pool_id: int, reference: str, amount: Decimal,
            submitted_at: dt.datetime, on_funded_job: str | None = None) -> ReserveOutcome:
    """Reserve money for an approval, or queue it (first come by submission time) when the pool can't fund it."""
    value = money(amount, "amount")
    pool = locked_pool(uow, pool_id)  # serialises every change to this pool: the invariant can't race
    known: dict[str, BudgetReservation | None] | None = uow.tx_cache.get(_KNOWN_RESERVATIONS)
    if known is not None and reference in known:
        existing = known[reference]
    else:
        existing = uow.session.scalar(select(BudgetReservation).where(BudgetReservation.reference == reference))
    if existing is not None and existing.state in ("queued", "reserved", "spent"):
        return ReserveOutcome(existing.reference, existing.state)
    queue_empty = queue_is_empty(uow, pool)
    row = existing or BudgetReservation(pool_id=pool.id, reference=reference, amount=value, state="queued",
                                        submitted_at=submitted_at, on_funded_job=on_funded_job)
    row.amount, row.state = value, "queued"
    uow.session.add(row)
    if known is not None:
        known[reference] = row
    if queue_empty and fits(pool, value):
        _take(uow, pool, row, actor)
    else:
        uow.tx_cache[f"budget.queue_empty.{pool.id}"] = False
        audit.record(uow, actor=actor, action="budget.queued", entity_type="budget_pool", entity_id=pool.id,
                     after={"reference": reference, "amount": str(value)})
    # No flush: a batch approval's writes go to the database together (the reference identifies the row).
    return ReserveOutcome(row.reference, row.state)


_KNOWN_RESERVATIONS = "budget.known_reservations"


def preload_reservations(uow: UnitOfWork, references: list[str], *, lock_pools: bool = False) -> None:
    """Look up many references' reservations at once, so a batch's `reserve`/`spend` calls need no query each.

    Every change to a reservation happens under its pool's lock. With `lock_pools` the pools are locked first
    (in id order) and the rows read after, so they are current until commit and `spend` need not re-read them.
    """
    if lock_pools:
        pool_ids = {p for refs in slices(references) for p in uow.session.scalars(
            select(BudgetReservation.pool_id).where(BudgetReservation.reference.in_(refs)).distinct())}
        for pool_id in sorted(pool_ids):
            locked_pool(uow, pool_id)
    found = {r.reference: r for refs in slices(references) for r in uow.session.scalars(
        select(BudgetReservation).where(BudgetReservation.reference.in_(refs))
        .execution_options(populate_existing=lock_pools))}
    known: dict[str, BudgetReservation | None] = uow.tx_cache.setdefault(_KNOWN_RESERVATIONS, {})
    known.update({reference: found.get(reference) for reference in references})
    if lock_pools:
        uow.tx_cache.setdefault(_CURRENT_RESERVATIONS, set()).update(found)


_CURRENT_RESERVATIONS = "budget.current_reservations"


def _take(uow: UnitOfWork, pool: BudgetPool, row: BudgetReservation, actor: str) -> None:
    pool.reserved += row.amount
    row.state, row.funded_at = "reserved", utcnow()
    _entry(uow, pool, "reserve", row.amount, actor, reference=row.reference)
    audit.record(uow, actor=actor, action="budget.reserved", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": row.reference, "amount": str(row.amount)})
    notify_thresholds(uow, pool)


def _fund_queue(uow: UnitOfWork, pool: BudgetPool, actor: str) -> list[str]:
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
        _take(uow, pool, row, actor)
        funded.append(row.reference)
        if row.on_funded_job:
            uow.enqueue(row.on_funded_job, reference=row.reference)
    return funded


def _reservation(uow: UnitOfWork, reference: str) -> BudgetReservation:
    known: dict[str, BudgetReservation | None] = uow.tx_cache.get(_KNOWN_RESERVATIONS, {})
    row = known[reference] if reference in known else uow.session.scalar(
        select(BudgetReservation).where(BudgetReservation.reference == reference))
    if row is None:
        raise NotFound("没有该申请的预算占用 / no budget reservation for this reference", reason="budget.not_reserved")
    return row


def release(uow: UnitOfWork, *, actor: str, reference: str, reason: str) -> list[str]:
    """Give back a reservation (rejection after reservation, revocation before payment) or drop a queued one."""
    row = _reservation(uow, reference)
    pool = locked_pool(uow, row.pool_id)
    uow.session.refresh(row)
    if row.state == "queued":
        row.state = "cancelled"
        return []
    if row.state != "reserved":
        return []
    pool.reserved -= row.amount
    row.state = "released"
    _entry(uow, pool, "release", row.amount, actor, reference=reference, reason=reason)
    audit.record(uow, actor=actor, action="budget.released", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": reference, "amount": str(row.amount), "reason": reason})
    _reset_notified_level(pool)
    return _fund_queue(uow, pool, actor)


def spend(uow: UnitOfWork, *, actor: str, reference: str) -> None:
    """Turn a reservation into spending when the payment is made (once)."""
    row = _reservation(uow, reference)
    pool = locked_pool(uow, row.pool_id)
    if reference not in uow.tx_cache.get(_CURRENT_RESERVATIONS, ()):
        uow.session.refresh(row)  # read before the pool lock: make sure of its state now
    if row.state in ("spent", "refunded"):  # refunded: clawed back before its payment, nothing left to spend
        return
    if row.state != "reserved":
        raise Conflict("该申请没有可支付的预算占用 / nothing reserved to spend", reason="budget.not_reserved")
    pool.reserved -= row.amount
    pool.spent += row.amount
    row.state = "spent"
    _entry(uow, pool, "spend", row.amount, actor, reference=reference)
    audit.record(uow, actor=actor, action="budget.spent", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": reference, "amount": str(row.amount)})


def refund(uow: UnitOfWork, *, actor: str, reference: str, reason: str) -> bool:
    """Give a clawed-back subsidy back to the pool exactly once; False when it was given back already.

    Usually the subsidy was spent (its statement was paid). When the deduction is paid first, the money is
    still reserved: it goes back now, and the later `spend` of that reference finds nothing left to spend.
    """
    row = _reservation(uow, reference)
    pool = locked_pool(uow, row.pool_id)
    uow.session.refresh(row)
    if row.state not in ("spent", "reserved"):
        return False
    was = row.state
    if was == "spent":
        pool.spent -= row.amount
    else:
        pool.reserved -= row.amount
    row.state = "refunded"
    _entry(uow, pool, "refund" if was == "spent" else "release", row.amount, actor, reference=reference,
           reason=reason)
    audit.record(uow, actor=actor, action="budget.refunded", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": reference, "amount": str(row.amount), "from": was, "reason": reason})
    _reset_notified_level(pool)
    _fund_queue(uow, pool, actor)
    return True


def _use_percent(pool: BudgetPool) -> Decimal:
    return use_percent(pool.allocated, pool.reserved, pool.spent)


def use_percent(allocated: Decimal, reserved: Decimal, spent: Decimal) -> Decimal:
    """Return the share of an allocation in use (reserved or spent), in per cent."""
    return (reserved + spent) * 100 / allocated if allocated > 0 else Decimal(0)


def crosses_threshold(used_percent: Decimal, notified_level: int) -> bool:
    """Tell whether a pool this far in use has passed a threshold the bureau has not been told of."""
    return any(used_percent >= level > notified_level for level in THRESHOLDS)


def notify_thresholds(uow: UnitOfWork, pool: BudgetPool) -> None:
    """Tell the county bureau, once per crossing, that the pool (locked by the caller) passed a use threshold."""
    used = _use_percent(pool)
    for level in THRESHOLDS:
        if used >= level > pool.notified_level:
            pool.notified_level = level
            title = f"资金池使用已达 {level}% / budget pool {level}% used"
            body = (f"{COUNTIES[pool.county_code]} {pool.name}:已分配 {pool.allocated} 元,已占用 "
                    f"{pool.reserved + pool.spent} 元({used:.1f}%)。")
            identity.notify_county(uow, county_code=pool.county_code, kind=f"budget.threshold_{level}",
                                   title=title, body=body, entity_type="budget_pool", entity_id=pool.id)
            audit.record(uow, actor="system", action=f"budget.threshold_{level}", entity_type="budget_pool",
                         entity_id=pool.id, after={"used_percent": f"{used:.1f}"})


def _reset_notified_level(pool: BudgetPool) -> None:
    used = _use_percent(pool)
    pool.notified_level = max([0, *[level for level in THRESHOLDS if used >= level]])


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
    remaining = pool.allocated - pool.reserved - pool.spent
    return PoolFigures(
        pool.id, pool.programme, pool.county_code, pool.name, pool.allocated, pool.reserved, pool.spent, remaining,
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
