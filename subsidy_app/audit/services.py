"""Audit use cases: record events in the caller's transaction, seal them into the chain, verify it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from subsidy_app.audit.domain import GENESIS_HASH, AuditEntry, ChainBreak, chain_hash, find_break
from subsidy_app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from subsidy_app.core.db import utcnow
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
    """Add an audit event to this transaction; it is chained at commit."""
    summary = _masked({"before": before, "after": after} if before is not None else {"after": after})
    pending: list[AuditEntry] = uow.context.setdefault(_PENDING, [])
    pending.append(
        AuditEntry(
            seq=0,
            occurred_at=utcnow(),
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            summary=summary,
        )
    )
    uow.before_commit("audit.seal", _seal)


def _masked(summary: dict[str, Any]) -> dict[str, Any]:
    """Normalise to plain JSON and mask anything that looks like an ID number or a card."""
    text = json.dumps(summary, ensure_ascii=False, default=str, sort_keys=True)
    result: dict[str, Any] = json.loads(mask_personal_text(text))
    return result


def _seal(uow: UnitOfWork) -> None:
    """Append the pending events to the chain; the head row lock keeps the chain linear."""
    pending: list[AuditEntry] = uow.context.pop(_PENDING, [])
    if not pending:
        return
    session = uow.session
    head = session.get(AuditHead, 1, with_for_update=True)
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
    for draft in pending:
        entry = AuditEntry(
            seq=head.last_seq + 1,
            occurred_at=draft.occurred_at,
            actor=draft.actor,
            action=draft.action,
            entity_type=draft.entity_type,
            entity_id=draft.entity_id,
            summary=draft.summary,
        )
        digest = chain_hash(head.last_hash, entry)
        session.add(
            AuditEvent(
                seq=entry.seq,
                occurred_at=entry.occurred_at,
                actor=entry.actor,
                action=entry.action,
                entity_type=entry.entity_type,
                entity_id=entry.entity_id,
                summary=entry.summary,
                prev_hash=head.last_hash,
                hash=digest,
            )
        )
        head.last_seq = entry.seq
        head.last_hash = digest


def _as_entry(row: AuditEvent) -> AuditEntry:
    occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=dt.UTC)
    return AuditEntry(row.seq, occurred, row.actor, row.action, row.entity_type, row.entity_id, row.summary)


def _batches(session: Session, batch: int) -> Iterator[list[AuditEvent]]:
    after = 0
    while True:
        rows = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch))
        )
        if not rows:
            return
        yield rows
        after = rows[-1].seq


def verify_chain(session: Session, *, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain; return how many events hold and the first break, if any."""
    prev, seq, checked = GENESIS_HASH, 1, 0
    for rows in _batches(session, batch):
        triples = [(_as_entry(r), r.prev_hash, r.hash) for r in rows]
        broken = find_break(triples, expected_prev=prev, expected_seq=seq)
        if broken is not None:
            return checked + (broken.seq - seq), broken
        checked += len(rows)
        prev, seq = rows[-1].hash, rows[-1].seq + 1
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
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(session.scalars(query))
