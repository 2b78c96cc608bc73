"""Quotas, budget and hand-in duties for a chunk of bulk sales: each pool and counter locked once per chunk."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import sql
from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import sqltypes

from recycling import closed_loop
from recycling.domain import CATEGORIES
from recycling.models import HandInObligation
from subsidy_app.appliances import selling
from subsidy_app.appliances.bulk_rows import Row, error, refusal
from subsidy_app.appliances.domain import programme_of, recycling_category
from subsidy_app.appliances.models import Store
from subsidy_app.audit import services as audit
from subsidy_app.core.db import Base, is_postgres, utcnow
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.tables import RowError
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import budget
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation, QuotaCounter, QuotaHold
from subsidy_app.rules.quotas import CONFIRMED


@dataclass(frozen=True)
class Sale:
    """A row inserted as a sale, waiting for its quota and budget."""

    row: Row
    number: str
    person_id: int
    sold_at: dt.datetime


def insert_rows(uow: UnitOfWork, model: type[Base], rows: list[dict[str, Any]], *, ignore_conflicts: bool = False,
                returning: tuple[str, ...] = (), upsert: tuple[str, str, str] | None = None) -> list[Any]:
    """Insert many rows at COPY speed on PostgreSQL (through a scratch table when conflicts must be skipped)."""
    if not rows:
        return []
    if not is_postgres(uow.session):
        statement = sqlite.insert(model)
        statement = statement.on_conflict_do_nothing() if ignore_conflicts else statement
        if returning:
            return [r._asdict() for r in uow.session.connection().execute(
                statement.returning(*(getattr(model, c) for c in returning)), rows)]
        uow.session.connection().execute(statement, rows)
        return []
    # COPY skips the model's Python-side defaults (timestamps, flags): fill them as the ORM would.
    defaults = {c.name: c.default.arg(None) if c.default.is_callable else c.default.arg
                for c in model.__table__.c if c.name not in rows[0] and c.default is not None
                and (c.default.is_callable or c.default.is_scalar)}
    rows = [{**defaults, **row} for row in rows] if defaults else rows
    columns = list(rows[0])
    table, names = sql.Identifier(model.__tablename__), sql.SQL(", ").join(map(sql.Identifier, columns))
    json_columns = {c.name for c in model.__table__.c if isinstance(c.type, sqltypes.JSON)}
    cursor = uow.session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    target = table
    if ignore_conflicts or returning or upsert:
        # COPY can't skip a conflicting row; a scratch copy of the table can, via INSERT … ON CONFLICT.
        target = sql.Identifier(f"bulk_scratch_{model.__tablename__}")
        cursor.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} "
                               "WITH NO DATA").format(target, names, table))
    with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in json_columns else row[c] for c in columns])
    if target == table:
        return []
    found = cursor.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{}{}").format(
        table, names, names, target, _conflict(table, ignore_conflicts, upsert),
        sql.SQL(" RETURNING ") + sql.SQL(", ").join(map(sql.Identifier, returning)) if returning else sql.SQL("")))
    out = found.fetchall() if returning else []
    cursor.execute(sql.SQL("DELETE FROM {}").format(target))  # several chunks may share one transaction
    return [dict(zip(returning, r, strict=True)) for r in out]


def _conflict(table: sql.Identifier, ignore: bool, upsert: tuple[str, str, str] | None) -> sql.Composable:
    if upsert is not None:  # (key columns, column, "existing" or "excluded")
        # Re-setting a column to itself takes the existing row's lock and lets RETURNING show its values.
        keys, column = sql.SQL(upsert[0]), sql.Identifier(upsert[1])
        source = table if upsert[2] == "existing" else sql.Identifier("excluded")
        return sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {} = {}.{}").format(keys, column, source, column)
    return sql.SQL(" ON CONFLICT DO NOTHING" if ignore else "")


_COUNTER_KEY = ("person_id", "programme", "category", "period_key")


def _counters(uow: UnitOfWork, sales: list[Sale]) -> dict[tuple[int, str, str, str], list[int]]:
    """Create missing counters, then lock every counter the chunk touches in one ordered statement."""
    keys = {(s.person_id, q.programme, q.category, q.period_key): q.max_count
            for s in sales if (q := s.row.decision.quota) is not None}
    if not keys:
        return {}
    rows = [{"person_id": k[0], "programme": k[1], "category": k[2], "period_key": k[3], "used": 0, "max_count": m}
            for k, m in sorted(keys.items())]
    if is_postgres(uow.session):  # create the missing counters and lock them all in one statement
        found = insert_rows(uow, QuotaCounter, rows, upsert=(", ".join(_COUNTER_KEY), "used", "existing"),
                            returning=(*_COUNTER_KEY, "used", "max_count"))
        return {(r["person_id"], r["programme"], r["category"], r["period_key"]): [r["used"], r["max_count"]]
                for r in found}
    insert_rows(uow, QuotaCounter, rows, ignore_conflicts=True)
    columns = (QuotaCounter.person_id, QuotaCounter.programme, QuotaCounter.category, QuotaCounter.period_key)
    locked = uow.session.execute(select(*columns, QuotaCounter.used, QuotaCounter.max_count)
                                 .where(tuple_(*columns).in_(list(keys))).order_by(*columns).with_for_update())
    return {(r.person_id, r.programme, r.category, r.period_key): [r.used, r.max_count] for r in locked}


def _pool(uow: UnitOfWork, programme: str, county_code: str) -> BudgetPool | DomainError:
    """Lock the pool once for the chunk, sharing the lock with budget's own calls in this transaction."""
    try:
        pool_id = budget.pool_for(uow, programme=programme, county_code=county_code)
    except DomainError as exc:
        return exc
    key = f"budget.pool_locked.{pool_id}"
    if key not in uow.tx_cache:
        uow.tx_cache[key] = uow.session.scalar(select(BudgetPool).where(BudgetPool.id == pool_id)
                                               .with_for_update().execution_options(populate_existing=True))
    pool: BudgetPool = uow.tx_cache[key]
    return pool


def _queue_empty(uow: UnitOfWork, pool: BudgetPool) -> bool:
    # While approvals wait for this pool an instant discount can't be funded (selling.record's rule).
    waiting = uow.session.scalar(select(func.count()).select_from(BudgetReservation).where(
        BudgetReservation.pool_id == pool.id, BudgetReservation.state == "queued"))
    return not waiting


def _hand_in_refusal(category: str) -> DomainError | None:
    # closed_loop.register_hand_in_obligation refuses a category the recovery ledger does not know.
    code = recycling_category(category)
    if code not in CATEGORIES or CATEGORIES[code][0] != closed_loop.KIND_DOMAINS["appliance"]:
        return ValidationFailed.field("category", "品类与类型不符 / category does not fit the kind")
    return None


def fund(uow: UnitOfWork, *, actor: str, store: Store, sales: list[Sale], errors: list[RowError]) -> list[Sale]:
    """Take each sale's quota unit and budget in file order, as the till would; return the funded sales."""
    counters = _counters(uow, sales)
    pools: dict[str, BudgetPool | DomainError] = {}
    open_queue: dict[int, bool] = {}
    funded: list[Sale] = []
    taken: dict[int, list[Sale]] = {}
    for sale in sales:
        row, quota = sale.row, sale.row.decision.quota
        counter = counters[(sale.person_id, quota.programme, quota.category, quota.period_key)] if quota else None
        if counter is not None and counter[0] >= counter[1]:
            errors.append(refusal(row.line, "quota.exhausted", f"该类别补贴次数已用完(上限 {counter[1]} 次)",
                                  f"quota for {quota.category if quota else ''} used up (limit {counter[1]})"))
            continue
        programme = programme_of(row.product.category) or ""
        if programme not in pools:
            pools[programme] = _pool(uow, programme, store.county_code)
        pool = pools[programme]
        if isinstance(pool, DomainError):
            errors.append(error(row.line, pool))
            continue
        if pool.id not in open_queue:
            open_queue[pool.id] = _queue_empty(uow, pool)
        amount = row.decision.amount
        if not open_queue[pool.id] or pool.reserved + pool.spent + amount > pool.allocated:
            errors.append(refusal(row.line, "budget.exhausted", "本区县补贴资金已用完",
                                  "the subsidy budget of this county is used up"))
            continue
        hand_in = any(d.code == selling.HAND_IN_DOCUMENT for d in row.decision.required_documents)
        refused = _hand_in_refusal(row.product.category) if hand_in else None
        if refused is not None:
            errors.append(error(row.line, refused))
            continue
        if counter is not None:
            counter[0] += 1
        pool.reserved += amount
        taken.setdefault(pool.id, []).append(sale)
        funded.append(sale)
    _write_quotas(uow, actor, counters, funded)
    for pool_id, pool_sales in taken.items():
        _write_budget(uow, actor, uow.tx_cache[f"budget.pool_locked.{pool_id}"], pool_sales)
    _write_hand_ins(uow, actor, store, funded)
    return funded


def _write_quotas(uow: UnitOfWork, actor: str, counters: dict[tuple[int, str, str, str], list[int]],
                  funded: list[Sale]) -> None:
    quota_sales = [(s, q) for s in funded if (q := s.row.decision.quota) is not None]
    if not quota_sales:
        return
    holds = [{"reference": s.number, "person_id": s.person_id, "programme": q.programme, "category": q.category,
              "period_key": q.period_key, "state": CONFIRMED} for s, q in quota_sales]
    used = {(s.person_id, q.programme, q.category, q.period_key) for s, q in quota_sales}
    changed = [{"person_id": k[0], "programme": k[1], "category": k[2], "period_key": k[3], "used": counters[k][0],
                "max_count": counters[k][1]} for k in sorted(used)]
    if is_postgres(uow.session):  # the counters are locked: write their new figures in one statement
        insert_rows(uow, QuotaCounter, changed, upsert=(", ".join(_COUNTER_KEY), "used", "excluded"))
    else:
        uow.session.connection().execute(
            update(QuotaCounter).where(
                QuotaCounter.person_id == bindparam("p"), QuotaCounter.programme == bindparam("g"),
                QuotaCounter.category == bindparam("c"), QuotaCounter.period_key == bindparam("k"))
            .values(used=bindparam("u")), [{"p": c["person_id"], "g": c["programme"], "c": c["category"],
                                            "k": c["period_key"], "u": c["used"]} for c in changed])
    # Held and confirmed at once, as selling.record does for an instant discount.
    insert_rows(uow, QuotaHold, holds)
    audit.record(uow, actor=actor, action="quota.confirmed", entity_type="quota_hold",
                 entity_id=quota_sales[0][0].number, after={"references": [s.number for s, _ in quota_sales]})


def _write_budget(uow: UnitOfWork, actor: str, pool: BudgetPool, sales: list[Sale]) -> None:
    """One reservation and one ledger line per sale, in two statements; the pool row changed once."""
    now = utcnow()
    insert_rows(uow, BudgetReservation, [
        {"pool_id": pool.id, "reference": s.number, "amount": s.row.decision.amount, "state": "reserved",
         "submitted_at": s.sold_at, "funded_at": now, "on_funded_job": None, "created_at": now} for s in sales])
    insert_rows(uow, BudgetEntry, [
        {"pool_id": pool.id, "kind": "reserve", "amount": s.row.decision.amount, "reference": s.number,
         "source": None, "reason": None, "actor": actor, "created_at": now} for s in sales])
    total = sum((s.row.decision.amount for s in sales), Decimal("0.00"))
    audit.record(uow, actor=actor, action="budget.reserved", entity_type="budget_pool", entity_id=pool.id,
                 after={"references": [s.number for s in sales], "amount": str(total)})
    budget.notify_thresholds(uow, pool)


def _write_hand_ins(uow: UnitOfWork, actor: str, store: Store, funded: list[Sale]) -> None:
    """Register the old-item hand-in duty of every funded sale whose rules ask for it (new numbers: none exist)."""
    due = [s for s in funded if any(d.code == selling.HAND_IN_DOCUMENT for d in s.row.decision.required_documents)]
    if not due:
        return
    days = closed_loop.hand_in_days(uow, kind="appliance")
    insert_rows(uow, HandInObligation, [
        {"trade_in_ref": s.number, "kind": "appliance", "dealer_org_id": store.dealer_org_id,
         "county_code": store.county_code, "category": recycling_category(s.row.product.category),
         "occurred_on": s.row.sold_on, "due_on": s.row.sold_on + dt.timedelta(days=days), "status": "open",
         "created_at": utcnow()} for s in due])
    audit.record(uow, actor=actor, action="recycling.hand_in_registered", entity_type="hand_in_obligation",
                 entity_id=due[0].number, after={"refs": [s.number for s in due], "kind": "appliance"})
