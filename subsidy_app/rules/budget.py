"""Budget pools' money: open a pool, allocate and adjust, reserve on approval, release, spend on payment, refund."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.audit import services as audit
from subsidy_app.core.db import slices
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules import escrow
from subsidy_app.rules.budget_pools import entry, fits, locked_pool, money
from subsidy_app.rules.budget_queue import fund_queue, note_queued, queue_is_empty, take
from subsidy_app.rules.budget_thresholds import reset_notified_level
from subsidy_app.rules.domain import Programme
from subsidy_app.rules.models import BudgetPool, BudgetReservation

SOURCES = ("central", "provincial", "city")


@dataclass(frozen=True)
class ReserveOutcome:
    """What an approval got: `reserved` now, or `queued` until the pool is topped up."""

    reference: str
    state: str


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


def allocate(uow: UnitOfWork, *, actor: str, pool_id: int, amount: Decimal, source: str,
             reason: str | None = None) -> list[str]:
    """Add money from a funding source, then fund waiting approvals in order; return their references."""
    if source not in SOURCES:
        raise ValidationFailed.field("source", "资金来源应为 central/provincial/city / source must be central, "
                                               "provincial or city")
    value = money(amount, "amount")
    pool = locked_pool(uow, pool_id)
    pool.allocated += value
    setattr(pool, source, getattr(pool, source) + value)
    entry(uow, pool, "allocate", value, actor, source=source, reason=reason)
    audit.record(uow, actor=actor, action="budget.allocated", entity_type="budget_pool", entity_id=pool.id,
                 after={"amount": str(value), "source": source, "allocated": str(pool.allocated)})
    return fund_queue(uow, pool, actor)


def adjust(uow: UnitOfWork, *, actor: str, pool_id: int, amount: Decimal, reason: str) -> list[str]:
    """Correct the allocation up or down with a reason (admins only); never below what is committed."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "调整必须说明原因 / an adjustment needs a reason")
    value = money(amount, "amount", allow_negative=True)
    pool = locked_pool(uow, pool_id)
    if value < 0:
        _drain_escrow(uow, pool)  # a cut or a reallocation takes free money, wherever it waits
    if pool.allocated + value < pool.reserved + pool.spent:
        raise Conflict("调减后低于已占用金额 / the allocation would fall below reserved + spent",
                       reason="budget.overcommitted")
    pool.allocated += value
    entry(uow, pool, "adjust", value, actor, reason=reason.strip())
    audit.record(uow, actor=actor, action="budget.adjusted", entity_type="budget_pool", entity_id=pool.id,
                 after={"amount": str(value), "reason": reason.strip(), "allocated": str(pool.allocated)})
    reset_notified_level(pool)
    return fund_queue(uow, pool, actor) if value > 0 else []


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
    if queue_empty and not fits(pool, value):
        _drain_escrow(uow, pool)  # money in escrow tranches is free: it funds the approval before it would queue
    row = existing or BudgetReservation(pool_id=pool.id, reference=reference, amount=value, state="queued",
                                        submitted_at=submitted_at, on_funded_job=on_funded_job)
    row.amount, row.state = value, "queued"
    uow.session.add(row)
    if known is not None:
        known[reference] = row
    if queue_empty and fits(pool, value):
        take(uow, pool, row, actor)
    else:
        note_queued(uow, pool)
        audit.record(uow, actor=actor, action="budget.queued", entity_type="budget_pool", entity_id=pool.id,
                     after={"reference": reference, "amount": str(value)})
    # No flush: a batch approval's writes go to the database together (the reference identifies the row).
    return ReserveOutcome(row.reference, row.state)


_KNOWN_RESERVATIONS = "budget.known_reservations"


def _drain_escrow(uow: UnitOfWork, pool: BudgetPool) -> None:
    """Bring the locked pool's escrow tranches back into it (their money is counted in `reserved`)."""
    pool.reserved -= escrow.drain(uow, pool_id=pool.id)


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
    entry(uow, pool, "release", row.amount, actor, reference=reference, reason=reason)
    audit.record(uow, actor=actor, action="budget.released", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": reference, "amount": str(row.amount), "reason": reason})
    reset_notified_level(pool)
    return fund_queue(uow, pool, actor)


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
    entry(uow, pool, "spend", row.amount, actor, reference=reference)
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
    entry(uow, pool, "refund" if was == "spent" else "release", row.amount, actor, reference=reference,
           reason=reason)
    audit.record(uow, actor=actor, action="budget.refunded", entity_type="budget_pool", entity_id=pool.id,
                 after={"reference": reference, "amount": str(row.amount), "from": was, "reason": reason})
    reset_notified_level(pool)
    fund_queue(uow, pool, actor)
    return True



