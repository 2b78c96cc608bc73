"""Budget pools, found and locked: an amount checked as money, a pool's lock, whether an amount fits, its ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from sqlalchemy import bindparam, select

from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.models import BudgetEntry, BudgetPool

CENT = Decimal("0.01")


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
    # FOR NO KEY UPDATE, as instant_budget locks it: writers queue, foreign-key checks of new reservations don't.
    pool = uow.session.scalar(select(BudgetPool).where(BudgetPool.id == pool_id).with_for_update(key_share=True)
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


def entry(uow: UnitOfWork, pool: BudgetPool, kind: str, amount: Decimal, actor: str, *,
          reference: str | None = None, source: str | None = None, reason: str | None = None) -> None:
    """Append a line to a locked pool's ledger (allocate, adjust, reserve, release, spend, refund)."""
    uow.session.add(BudgetEntry(pool_id=pool.id, kind=kind, amount=amount, reference=reference, source=source,
                                reason=reason, actor=actor))
