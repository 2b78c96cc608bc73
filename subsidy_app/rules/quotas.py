"""Personal quotas: held on submission, confirmed on approval, released on rejection; enforced by the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from subsidy_app.audit import services as audit
from subsidy_app.core.db import is_postgres, utcnow
from subsidy_app.core.errors import Conflict, NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.domain import QuotaKey
from subsidy_app.rules.models import QuotaCounter, QuotaHold

HELD, CONFIRMED, RELEASED, REFUNDED = "held", "confirmed", "released", "refunded"


@dataclass(frozen=True)
class QuotaStatus:
    """How much of a limit a person has used and has left."""

    programme: str
    category: str
    period_key: str
    max_count: int
    used: int

    @property
    def remaining(self) -> int:
        """Return the units left."""
        return max(0, self.max_count - self.used)


def _counter_filter(person_id: int, programme: str, category: str, period_key: str
                    ) -> tuple[ColumnElement[bool], ...]:
    return (
        QuotaCounter.person_id == person_id,
        QuotaCounter.programme == programme,
        QuotaCounter.category == category,
        QuotaCounter.period_key == period_key,
    )


def hold_quota(uow: UnitOfWork, *, person_id: int, key: QuotaKey, reference: str, actor: str,
               confirmed: bool = False, fresh: bool = False) -> int:
    """Take one unit of a person's quota for `reference`; 409 quota.exhausted when none is left.

    `confirmed` takes it as already confirmed (a sale granted at the till); `fresh` says the caller has just
    made up the reference, so there is no earlier hold to look for.
    """
    session = uow.session
    state = CONFIRMED if confirmed else HELD
    if fresh and is_postgres(session) and key.max_count >= 1:
        hold_id = session.execute(_TAKE_AND_HOLD, {
            "person_id": person_id, "programme": key.programme, "category": key.category,
            "period_key": key.period_key, "max_count": key.max_count, "reference": reference, "state": state,
            "now": utcnow()}).scalar()
        if hold_id is None:
            raise _used_up(key)
        _audit_hold(uow, actor, hold_id, reference, key, confirmed)
        return int(hold_id)
    existing = None if fresh else session.scalar(select(QuotaHold).where(QuotaHold.reference == reference))
    if existing is not None and existing.state in (HELD, CONFIRMED, REFUNDED):
        return existing.id  # the same application asking again: already held
    # One statement: the first unit creates the counter, later ones add to it only while below the limit.
    # The row lock makes a concurrent second taker re-check `used < max_count` and get no row back.
    dialect: Any = postgresql if is_postgres(session) else sqlite
    counter = QuotaCounter.__table__.c
    taken = None if key.max_count < 1 else session.execute(
        dialect.insert(QuotaCounter).values(person_id=person_id, programme=key.programme, category=key.category,
                                            period_key=key.period_key, used=1, max_count=key.max_count)
        .on_conflict_do_update(index_elements=["person_id", "programme", "category", "period_key"],
                               set_={"used": counter.used + 1}, where=counter.used < counter.max_count)
        .returning(counter.used)
    ).first()
    if taken is None:
        raise _used_up(key)
    if existing is not None:
        existing.state, existing.updated_at = state, utcnow()
        hold = existing
    else:
        hold = QuotaHold(
            reference=reference,
            person_id=person_id,
            programme=key.programme,
            category=key.category,
            period_key=key.period_key,
            state=state,
        )
        session.add(hold)
    uow.flush()
    _audit_hold(uow, actor, hold.id, reference, key, confirmed)
    return hold.id


def _used_up(key: QuotaKey) -> Conflict:
    return Conflict(f"该类别补贴次数已用完(上限 {key.max_count} 次)/ quota for {key.category} used up "
                    f"(limit {key.max_count})", reason="quota.exhausted")


def _audit_hold(uow: UnitOfWork, actor: str, hold_id: int, reference: str, key: QuotaKey, confirmed: bool) -> None:
    audit.record(uow, actor=actor, action="quota.confirmed" if confirmed else "quota.held",
                 entity_type="quota_hold", entity_id=hold_id,
                 after={"reference": reference, "category": key.category, "period": key.period_key})


def _take_and_hold_statement() -> Any:
    """PostgreSQL, for a brand-new reference: take a unit and insert its hold in one statement (built once).

    The counter upsert is a CTE; the hold is inserted only from the row it returns, so a used-up quota
    inserts nothing and returns no id.
    """
    counter, hold = QuotaCounter.__table__.c, cast(Table, QuotaHold.__table__)
    p = {name: bindparam(name, type_=hold.c[name].type)
         for name in ("person_id", "programme", "category", "period_key", "reference", "state")}
    taken = (postgresql.insert(QuotaCounter)
             .values(person_id=p["person_id"], programme=p["programme"], category=p["category"],
                     period_key=p["period_key"], used=1, max_count=bindparam("max_count", type_=counter.max_count.type))
             .on_conflict_do_update(index_elements=["person_id", "programme", "category", "period_key"],
                                    set_={"used": counter.used + 1}, where=counter.used < counter.max_count)
             .returning(counter.used).cte("taken"))
    now = bindparam("now", type_=hold.c.created_at.type)
    return (insert(hold).from_select(
        ["reference", "person_id", "programme", "category", "period_key", "state", "created_at", "updated_at"],
        select(p["reference"], p["person_id"], p["programme"], p["category"], p["period_key"], p["state"], now, now)
        .select_from(taken)).returning(hold.c.id).add_cte(taken))


_TAKE_AND_HOLD = _take_and_hold_statement()


def _hold(session: Session, reference: str) -> QuotaHold:
    hold = session.scalar(select(QuotaHold).where(QuotaHold.reference == reference).with_for_update())
    if hold is None:
        raise NotFound("没有该申请的额度占用 / no quota held for this reference", reason="quota.not_found")
    return hold


_LOCKED_HOLDS = "quotas.locked_holds"


def lock_holds(uow: UnitOfWork, references: list[str]) -> None:
    """Lock many references' holds in one statement (in id order, so batches never deadlock) for this transaction."""
    rows = uow.session.scalars(select(QuotaHold).where(QuotaHold.reference.in_(references))
                               .order_by(QuotaHold.id).with_for_update())
    uow.tx_cache.setdefault(_LOCKED_HOLDS, {}).update({h.reference: h for h in rows})


def confirm_quota(uow: UnitOfWork, *, reference: str, actor: str) -> None:
    """Confirm a held unit on approval."""
    locked: dict[str, QuotaHold] = uow.tx_cache.get(_LOCKED_HOLDS, {})
    hold = locked.get(reference) or _hold(uow.session, reference)
    if hold.state == HELD:
        hold.state, hold.updated_at = CONFIRMED, utcnow()
        audit.record(uow, actor=actor, action="quota.confirmed", entity_type="quota_hold", entity_id=hold.id)


def release_quota(uow: UnitOfWork, *, reference: str, actor: str) -> None:
    """Give the unit back on rejection or withdrawal (not after a refund: DOMAIN.md §2)."""
    hold = _hold(uow.session, reference)
    if hold.state not in (HELD, CONFIRMED):
        return
    uow.session.execute(
        update(QuotaCounter)
        .where(*_counter_filter(hold.person_id, hold.programme, hold.category, hold.period_key))
        .values(used=QuotaCounter.used - 1)
    )
    hold.state, hold.updated_at = RELEASED, utcnow()
    audit.record(uow, actor=actor, action="quota.released", entity_type="quota_hold", entity_id=hold.id)


def mark_refunded(uow: UnitOfWork, *, reference: str, actor: str) -> None:
    """Record a refund: the item still uses up the person's quota (DOMAIN.md §2)."""
    hold = _hold(uow.session, reference)
    if hold.state in (HELD, CONFIRMED):
        hold.state, hold.updated_at = REFUNDED, utcnow()
        audit.record(
            uow, actor=actor, action="quota.refunded_kept", entity_type="quota_hold", entity_id=hold.id
        )


def quota_status(uow: UnitOfWork, *, person_id: int, key: QuotaKey) -> QuotaStatus:
    """Return a person's use of one limit."""
    used = uow.session.scalar(
        select(QuotaCounter.used).where(
            *_counter_filter(person_id, key.programme, key.category, key.period_key)
        )
    )
    return QuotaStatus(key.programme, key.category, key.period_key, key.max_count, int(used or 0))
