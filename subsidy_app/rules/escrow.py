"""Budget escrow (issue 17 §1): a pool's free money split into tranches, so a county's tills rarely meet on one row.

A tranche's balance is money already counted in its pool's `reserved`: the pool row alone keeps `reserved + spent
<= allocated` under any concurrency, and the database's check on that row still guards it. An instant discount
takes its amount from one tranche with one conditional UPDATE (`take`) that never touches the pool row; the
reservation and ledger line it writes are those of any instant discount. When its tranche is short, the sale goes
the pool's way (`instant_budget`): the pool locked, the discount funded from the pool, and the tranche refilled
with a slice of what is left (`refill`). When the pool itself is short, every tranche drains back into it first
(`drain`), so no money waits in a tranche while a sale or an approval is refused, and the first-come queue of
approvals sees all of it.

Locks are always taken pool first, then tranches. A sale that took from a tranche holds that row until it commits
and never waits for its pool (the pool is locked FOR NO KEY UPDATE, so the reservation's foreign-key check does not
wait either); one whose tranche was short holds nothing (see migration 0022's function), so refilling or draining
under the pool's lock cannot deadlock with it. Reported figures subtract the tranches (`held`): what they hold is
free, not reserved.

PostgreSQL only (the embedded SQLite default has one writer, nothing to spread); off unless `configure` sets a
number of tranches (the BUDGET_TRANCHES setting).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select, text

from subsidy_app.core.db import is_postgres
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.models import BudgetTranche

CENT = Decimal("0.01")
_settings = {"tranches": 0}


def configure(*, tranches: int) -> None:
    """Set how many tranches each pool's escrow has (0 turns escrow off); the app and worker call it at start."""
    if tranches < 0:
        raise ValueError("tranches must be 0 or more")
    _settings["tranches"] = tranches


def tranches() -> int:
    """How many tranches a pool's escrow has (0: escrow is off)."""
    return _settings["tranches"]


def in_use(uow: UnitOfWork) -> bool:
    """Whether instant discounts of this transaction go through escrow."""
    return tranches() > 0 and is_postgres(uow.session)


def slot() -> int:
    """The tranche this process and thread sells from: concurrent tills (threads, workers) spread over the slots."""
    return hash((os.getpid(), threading.get_ident())) % tranches()


# One round trip (the function is created by migration 0022): take the amount from the tranche if it holds enough
# and write the reservation and its ledger line; false, with the tranche left unlocked, when it is short.
_TAKE = text(
    "SELECT budget_escrow_take(CAST(:pool_id AS bigint), CAST(:slot AS integer), CAST(:amount AS numeric), "
    "CAST(:reference AS varchar), CAST(:actor AS varchar), CAST(:submitted AS timestamptz), "
    "CAST(:now AS timestamptz))")


def take(uow: UnitOfWork, *, pool_id: int, amount: Decimal, reference: str, actor: str, submitted: object,
         now: object) -> bool:
    """Fund an instant discount from this thread's tranche of the pool; False (nothing written) when it is short."""
    return bool(uow.session.scalar(_TAKE, {"pool_id": pool_id, "slot": slot(), "amount": amount,
                                           "reference": reference, "actor": actor, "submitted": submitted,
                                           "now": now}))


def held(uow: UnitOfWork, pool_ids: Iterable[int]) -> dict[int, Decimal]:
    """What the tranches of each pool hold (free money, counted in the pool's `reserved`)."""
    ids = list(pool_ids)
    if not ids:
        return {}
    rows = uow.session.execute(select(BudgetTranche.pool_id, func.sum(BudgetTranche.balance))
                               .where(BudgetTranche.pool_id.in_(ids)).group_by(BudgetTranche.pool_id))
    return {pool_id: Decimal(total) for pool_id, total in rows}


_DRAIN = text(
    "WITH old AS (SELECT slot, balance FROM budget_tranche WHERE pool_id = CAST(:pool_id AS bigint) "
    "AND balance > 0 ORDER BY slot FOR UPDATE) "
    "UPDATE budget_tranche t SET balance = 0 FROM old WHERE t.pool_id = CAST(:pool_id AS bigint) "
    "AND t.slot = old.slot RETURNING old.balance")


def drain(uow: UnitOfWork, *, pool_id: int) -> Decimal:
    """Empty every tranche of a pool the caller has locked; return what they held (to subtract from `reserved`)."""
    if not is_postgres(uow.session):
        return Decimal("0.00")
    return sum((Decimal(b) for (b,) in uow.session.execute(_DRAIN, {"pool_id": pool_id})), Decimal("0.00"))


_REFILL = text(
    "INSERT INTO budget_tranche (pool_id, slot, balance) VALUES (CAST(:pool_id AS bigint), CAST(:slot AS integer), "
    "CAST(:amount AS numeric)) ON CONFLICT (pool_id, slot) DO UPDATE SET balance = budget_tranche.balance + "
    "excluded.balance")


def refill_amount(free: Decimal, wanted: Decimal) -> Decimal:
    """How much to move into a tranche from a pool with `free` money left after the sale: a share of it that lets
    every tranche be filled twice over, and nothing when the share would not fund one more such sale."""
    share = (free / (2 * tranches())).quantize(CENT, rounding=ROUND_DOWN)
    return share if share >= wanted else Decimal("0.00")


def refill(uow: UnitOfWork, *, pool_id: int, amount: Decimal) -> None:
    """Move `amount` (already added to the locked pool's `reserved` by the caller) into this thread's tranche."""
    uow.session.execute(_REFILL, {"pool_id": pool_id, "slot": slot(), "amount": amount})
