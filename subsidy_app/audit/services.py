"""Audit use cases: record events in the caller's transaction, seal them into the chain soon after, verify it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from subsidy_app.audit.domain import GENESIS_HASH, AuditEntry, ChainBreak, chain_hash, find_break
from subsidy_app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from subsidy_app.core.db import insert_rows, is_postgres, utcnow
from subsidy_app.core.personal_data import mask_personal_text
from subsidy_app.core.uow import UnitOfWork

_PENDING = "audit_pending"
SYSTEM_ACTOR = "system"


def record(
    uow: UnitOfWork,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to this transaction; it is written at commit and chained by the sealer."""
    summary = _masked({"before": before, "after": after} if before is not None else {"after": after})
    pending: list[dict[str, Any]] = uow.context.setdefault(_PENDING, [])
    pending.append({"occurred_at": utcnow(), "actor": actor, "action": action, "entity_type": entity_type,
                    "entity_id": str(entity_id), "summary": summary})
    uow.before_commit("audit.write", _write_pending)


def _masked(summary: dict[str, Any]) -> dict[str, Any]:
    """Normalise to plain JSON and mask anything that looks like an ID number or a card."""
    text = json.dumps(summary, ensure_ascii=False, default=str, sort_keys=True)
    result: dict[str, Any] = json.loads(mask_personal_text(text))
    return result


def _write_pending(uow: UnitOfWork) -> None:
    """Insert this transaction's events unsealed, in one statement; no lock is taken."""
    pending: list[dict[str, Any]] = uow.context.pop(_PENDING, [])
    if not pending:
        return
    session = uow.session
    insert_rows(session, AuditEvent, pending)
    if not is_postgres(session):
        # SQLite has a single writer, so no other transaction can be in flight: chain right away.
        seal_pending(session)
    elif getattr(uow.dispatcher, "runs_inline", False):
        # No worker runs the periodic sealer in the embedded mode: seal once this transaction has committed.
        uow.after_commit("audit.seal", _seal_after_commit)


def _seal_after_commit(uow: UnitOfWork) -> None:
    """Seal in a short transaction of its own; if another sealer holds the head, it or the next one will."""
    with uow.session_factory() as session, session.begin():
        seal_pending(session)


def seal_pending(session: Session, *, limit: int = 20_000) -> int:
    """Chain the unsealed events this transaction can see, in id order; return how many were sealed.

    Only sealers lock the head row, and a sealer skips rather than waits when another one holds it. Every
    unsealed event it can see is committed (or its own): an event still in flight is invisible and is chained by
    a later run, so the chain's order is the order of sealing and no committed event is ever missed.
    """
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update(skip_locked=True)
                          .execution_options(populate_existing=True))
    if head is None:
        if session.get(AuditHead, 1) is not None:
            return 0  # another sealer is at work
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
    query = select(AuditEvent).where(AuditEvent.hash.is_(None)).order_by(AuditEvent.id).limit(limit)
    rows = session.scalars(query).all()
    updates = []
    seq, prev = head.last_seq, head.last_hash
    for row in rows:
        seq += 1
        digest = chain_hash(prev, _as_entry(row, seq))
        updates.append({"id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    if updates:
        session.execute(update(AuditEvent), updates)
        head.last_seq, head.last_hash = seq, prev
    session.flush()
    return len(updates)


def seal_all(session: Session) -> int:
    """Seal until nothing sealable is left; return how many were sealed."""
    total = 0
    while count := seal_pending(session):
        total += count
    return total


def _as_entry(row: AuditEvent, seq: int | None = None) -> AuditEntry:
    occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=dt.UTC)
    position = seq if seq is not None else row.seq
    assert position is not None, "only sealed events have a place in the chain"
    return AuditEntry(position, occurred, row.actor, row.action, row.entity_type, row.entity_id, row.summary)


def _batches(session: Session, batch: int) -> Iterator[list[AuditEvent]]:
    after = 0
    while True:  # sealed events only: an unsealed one has no seq yet
        rows = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch))
        )
        if not rows:
            return
        yield rows
        after = int(rows[-1].seq or 0)


def verify_chain(session: Session, *, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Seal what is pending, walk the whole chain; return how many events hold and the first break, if any."""
    seal_all(session)
    prev, seq, checked = GENESIS_HASH, 1, 0
    for rows in _batches(session, batch):
        triples = [(_as_entry(r), r.prev_hash or "", r.hash or "") for r in rows]
        broken = find_break(triples, expected_prev=prev, expected_seq=seq)
        if broken is not None:
            return checked + (broken.seq - seq), broken
        checked += len(rows)
        prev, seq = triples[-1][2], triples[-1][0].seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_seq != seq - 1 or head.last_hash != prev):
        return checked, ChainBreak(seq, f"events after #{seq - 1} are missing (the head records #{head.last_seq})")
    return checked, None


def event_count(session: Session) -> int:
    """Return the number of audit events."""
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def write_checkpoint(uow: UnitOfWork) -> AuditCheckpoint:
    """Verify the chain and store the result; once per outbox message."""
    _checked, broken = verify_chain(uow.session)
    head = uow.session.get(AuditHead, 1)
    checkpoint = AuditCheckpoint(
        outbox_message_id=uow.context.get("outbox_message_id"),
        last_seq=head.last_seq if head else 0,
        last_hash=head.last_hash if head else GENESIS_HASH,
        ok=broken is None,
        problem=None if broken is None else f"#{broken.seq}: {broken.problem}"[:300],
    )
    uow.session.add(checkpoint)
    return checkpoint


def request_checkpoint(uow: UnitOfWork, *, requested_by: str) -> int:
    """Queue a chain verification; return the job id."""
    message = uow.enqueue("audit.checkpoint", requested_by=requested_by)
    record(uow, actor=requested_by, action="audit.checkpoint_requested", entity_type="audit", entity_id="chain")
    uow.flush()
    return message.id


def list_events(
    session: Session, *, entity_type: str | None = None, entity_id: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """Return the newest events, optionally for one entity."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(session.scalars(query))
