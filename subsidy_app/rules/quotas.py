"""Personal quotas: held on submission, confirmed on approval, released on rejection; enforced by the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, select, text, update
from sqlalchemy.orm import Session

from subsidy_app.audit import services as audit
from subsidy_app.core.db import Upsert, insert_rows, is_postgres, slices, utcnow
from subsidy_app.core.errors import Conflict, NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.domain import LimitPeriod, QuotaKey
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


@dataclass(frozen=True)
class HoldRequest:
    """One unit of a person's quota wanted for a reference."""

    person_id: int
    key: QuotaKey
    reference: str


CounterKey = tuple[int, str, str, str]
_COUNTER_KEY = ("person_id", "programme", "category", "period_key")
_LOCK = Upsert(_COUNTER_KEY, "used", new=False)  # create the missing counters, lock them all, read them
_SET_USED = Upsert(_COUNTER_KEY, "used", new=True)


def _key_of(request: HoldRequest) -> CounterKey:
    return request.person_id, request.key.programme, request.key.category, request.key.period_key


class Holds:
    """Quota units for references of one transaction: the counters created and locked in one statement, units
    taken in order in memory, then the counters and holds written together (`write`).

    This is the only writer of quota counters and new holds: the till takes one unit, a bulk file a chunk. The
    counters are locked in key order, so two batches never deadlock; under the lock `used` is current, and the
    table's check (`used <= max_count`) refuses whatever might still get past.
    """

    def __init__(self, uow: UnitOfWork, *, actor: str, requests: list[HoldRequest], confirmed: bool = False,
                 fresh: bool = False) -> None:
        self._uow, self._actor = uow, actor
        self._state = CONFIRMED if confirmed else HELD
        wanted = {_key_of(r): r.key.max_count for r in requests if r.key.max_count >= 1}
        found = insert_rows(uow.session, QuotaCounter, [
            {"person_id": k[0], "programme": k[1], "category": k[2], "period_key": k[3], "used": 0, "max_count": m}
            for k, m in sorted(wanted.items())], upsert=_LOCK, returning=(*_COUNTER_KEY, "used", "max_count"))
        self._counters = {(r["person_id"], r["programme"], r["category"], r["period_key"]): [r["used"], r["max_count"]]
                          for r in found}
        # `fresh`: the caller has just made the references up, so there is no earlier hold to look for.
        self._existing: dict[str, QuotaHold] = {} if fresh else {
            h.reference: h for refs in slices({r.reference for r in requests})
            for h in uow.session.scalars(select(QuotaHold).where(QuotaHold.reference.in_(refs)))}
        self._taken: dict[str, HoldRequest] = {}

    def _held(self, request: HoldRequest) -> bool:
        existing = self._existing.get(request.reference)
        return request.reference in self._taken or (existing is not None and existing.state in (HELD, CONFIRMED,
                                                                                                REFUNDED))

    def refusal(self, request: HoldRequest) -> Conflict | None:
        """Say why no unit can be taken for `request` now (409 quota.exhausted), or None."""
        if self._held(request):
            return None  # the same application asking again: already held
        counter = self._counters.get(_key_of(request))
        return _used_up(request.key) if counter is None or counter[0] >= counter[1] else None

    def take(self, request: HoldRequest) -> None:
        """Take the unit `refusal` found free (none for a reference already holding one)."""
        if not self._held(request):
            self._counters[_key_of(request)][0] += 1
            self._taken[request.reference] = request

    def write(self) -> dict[str, int]:
        """Write the counters and holds the units were taken for; return every reference's hold id."""
        ids = {ref: h.id for ref, h in self._existing.items() if h.state in (HELD, CONFIRMED, REFUNDED)}
        taken = list(self._taken.values())
        if not taken:
            return ids
        now = utcnow()
        for request in taken:
            again = self._existing.get(request.reference)  # released before: the same hold is taken again
            if again is not None:
                again.state, again.updated_at = self._state, now
                ids[request.reference] = again.id
        keys = sorted({_key_of(r) for r in taken})
        new = [r for r in taken if r.reference not in self._existing]
        ids.update(_write(self._uow.session, [(*k, self._counters[k][0], self._counters[k][1]) for k in keys],
                          new, self._state, now))
        self._audit(taken, ids)
        return ids

    def _audit(self, taken: list[HoldRequest], ids: dict[str, int]) -> None:
        action = "quota.confirmed" if self._state == CONFIRMED else "quota.held"
        first = taken[0]
        after: dict[str, Any] = {"reference": first.reference, "category": first.key.category,
                                 "period": first.key.period_key} if len(taken) == 1 else {
            "references": [r.reference for r in taken]}
        audit.record(self._uow, actor=self._actor, action=action, entity_type="quota_hold",
                     entity_id=ids[first.reference], after=after)


def _write(session: Session, counters: list[tuple[int, str, str, str, int, int]], new: list[HoldRequest],
           state: str, now: dt.datetime) -> dict[str, int]:
    """Set the counters' new figures and insert the new holds; return their ids by reference."""
    if is_postgres(session):  # one round trip for one unit or a chunk of them
        found = session.execute(_WRITE, {
            "c_person": [c[0] for c in counters], "c_programme": [c[1] for c in counters],
            "c_category": [c[2] for c in counters], "c_period": [c[3] for c in counters],
            "c_used": [c[4] for c in counters], "refs": [r.reference for r in new],
            "persons": [r.person_id for r in new], "programmes": [r.key.programme for r in new],
            "categories": [r.key.category for r in new], "periods": [r.key.period_key for r in new],
            "state": state, "now": now})
        return {reference: hold_id for hold_id, reference in found}
    insert_rows(session, QuotaCounter, [dict(zip((*_COUNTER_KEY, "used", "max_count"), c, strict=True))
                                        for c in counters], upsert=_SET_USED)
    written = insert_rows(session, QuotaHold, [
        {"reference": r.reference, "person_id": r.person_id, "programme": r.key.programme,
         "category": r.key.category, "period_key": r.key.period_key, "state": state, "created_at": now,
         "updated_at": now} for r in new], returning=("id", "reference"))
    return {w["reference"]: w["id"] for w in written}


# Built once: the counters (already locked) set from arrays, the holds inserted from arrays.
_WRITE = text(
    "WITH counters AS (UPDATE quota_counter AS c SET used = v.used FROM unnest(CAST(:c_person AS bigint[]), "
    "CAST(:c_programme AS varchar[]), CAST(:c_category AS varchar[]), CAST(:c_period AS varchar[]), "
    "CAST(:c_used AS integer[])) AS v(person_id, programme, category, period_key, used) "
    "WHERE c.person_id = v.person_id AND c.programme = v.programme AND c.category = v.category "
    "AND c.period_key = v.period_key) "
    "INSERT INTO quota_hold (reference, person_id, programme, category, period_key, state, created_at, updated_at) "
    "SELECT reference, person_id, programme, category, period_key, CAST(:state AS varchar), "
    "CAST(:now AS timestamptz), CAST(:now AS timestamptz) FROM unnest(CAST(:refs AS varchar[]), "
    "CAST(:persons AS bigint[]), CAST(:programmes AS varchar[]), CAST(:categories AS varchar[]), "
    "CAST(:periods AS varchar[])) AS h(reference, person_id, programme, category, period_key) "
    "RETURNING id, reference")


def hold_many(uow: UnitOfWork, *, actor: str, requests: list[HoldRequest], confirmed: bool = False,
              fresh: bool = False) -> list[int | Conflict]:
    """Take one unit for each request in order: its hold id, or the 409 quota.exhausted that refused it.

    A reference that holds a unit already gets that hold back. `confirmed` takes the units as already confirmed
    (sales granted at the till or in a bulk file); `fresh` says the caller has just made the references up.
    """
    holds = Holds(uow, actor=actor, requests=requests, confirmed=confirmed, fresh=fresh)
    refused: list[Conflict | None] = []
    for request in requests:
        refused.append(holds.refusal(request))
        if refused[-1] is None:
            holds.take(request)
    ids = holds.write()
    return [why if why is not None else ids[r.reference] for r, why in zip(requests, refused, strict=True)]


def hold_quota(uow: UnitOfWork, *, person_id: int, key: QuotaKey, reference: str, actor: str,
               confirmed: bool = False, fresh: bool = False) -> int:
    """Take one unit of a person's quota for `reference` (see `hold_many`); 409 quota.exhausted when none is left."""
    outcome = hold_many(uow, actor=actor, requests=[HoldRequest(person_id, key, reference)], confirmed=confirmed,
                        fresh=fresh)[0]
    if isinstance(outcome, Conflict):
        raise outcome
    return outcome


def drop_unused_counters(uow: UnitOfWork, *, person_ids: frozenset[int] | set[int]) -> None:
    """Delete the never-used counters of persons the caller registered in this very transaction and is dropping
    again (a bulk row refused after its buyer was registered): nobody else can see, let alone use, them."""
    if person_ids:
        uow.session.execute(delete(QuotaCounter).where(QuotaCounter.person_id.in_(sorted(person_ids)),
                                                       QuotaCounter.used == 0))


def _used_up(key: QuotaKey) -> Conflict:
    return Conflict(f"该类别补贴次数已用完(上限 {key.max_count} 次)/ quota for {key.category} used up "
                    f"(limit {key.max_count})", reason="quota.exhausted")


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


def rehold_quota(uow: UnitOfWork, *, reference: str, actor: str) -> None:
    """Take a released unit back for the same reference (an appeal reopens a refusal); 409 quota.exhausted if the
    person used it up meanwhile. Nothing to do for a unit still held."""
    hold = _hold(uow.session, reference)
    if hold.state != RELEASED:
        return
    limit = uow.session.scalar(select(QuotaCounter.max_count).where(
        *_counter_filter(hold.person_id, hold.programme, hold.category, hold.period_key)))
    key = QuotaKey(programme=hold.programme, category=hold.category, period=LimitPeriod.VERSION,
                   period_key=hold.period_key, max_count=limit or 0)
    hold_quota(uow, person_id=hold.person_id, key=key, reference=reference, actor=actor)


def quota_free_for(uow: UnitOfWork, *, reference: str) -> bool:
    """Tell whether `reference` holds its unit or could take its released unit back now."""
    hold = _hold(uow.session, reference)
    if hold.state != RELEASED:
        return True
    row = uow.session.execute(select(QuotaCounter.used, QuotaCounter.max_count).where(
        *_counter_filter(hold.person_id, hold.programme, hold.category, hold.period_key))).first()
    return row is None or row[0] < row[1]


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
