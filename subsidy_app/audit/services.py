"""Audit use cases: record events in the caller's transaction, seal them into the chain soon after, verify it."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.audit.domain import (
    GENESIS_HASH,
    AuditEntry,
    ChainBreak,
    ChainKey,
    ChainWalk,
    Checkpoint,
    checkpoint_line,
    parse_checkpoint_lines,
)
from subsidy_app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from subsidy_app.core.clock import day_start
from subsidy_app.core.db import insert_rows, is_postgres, utcnow
from subsidy_app.core.errors import NotFound
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.personal_data import mask_personal_text
from subsidy_app.core.uow import UnitOfWork

log = logging.getLogger(__name__)

_PENDING = "audit_pending"
_SETUP = "subsidy_app.audit"  # the Session.info entry holding this process's AUDIT_KEY
SYSTEM_ACTOR = "system"
CHECKPOINT_JOB = "audit.checkpoint"


@dataclass(frozen=True, repr=False)
class _Setup:
    key: ChainKey
    checkpoint_file: Path | None


def session_info(*, key: str, checkpoint_file: str | Path | None = None) -> dict[str, Any]:
    """Return the Session.info entry that lets a factory's sessions seal and check the chain under AUDIT_KEY."""
    return {_SETUP: _Setup(ChainKey(key), Path(checkpoint_file) if checkpoint_file else None)}


def configure_sessions(factory: sessionmaker[Session], *, key: str, checkpoint_file: str | Path | None = None) -> None:
    """Give every session of `factory` the audit key (and checkpoint file) of this process's configuration."""
    factory.configure(info={**factory.kw.get("info", {}), **session_info(key=key, checkpoint_file=checkpoint_file)})


def _setup(session: Session) -> _Setup:
    setup = session.info.get(_SETUP)
    if not isinstance(setup, _Setup):
        # Never fall back to a default key: events sealed under the wrong key would all read as forged.
        raise RuntimeError("this session carries no AUDIT_KEY: build its factory with audit.services.session_info()")
    return setup


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
    key = _setup(session).key
    seq, prev = head.last_seq, head.last_hash
    for row in rows:
        seq += 1
        digest = key.link(prev, _as_entry(row, seq))
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
    position = seq if seq is not None else row.seq
    assert position is not None, "only sealed events have a place in the chain"
    return AuditEntry(position, row.occurred_at, row.actor, row.action, row.entity_type, row.entity_id, row.summary)


def _batches(session: Session, batch: int, after: int = 0) -> Iterator[list[AuditEvent]]:
    while True:  # sealed events only: an unsealed one has no seq yet
        rows = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(batch))
        )
        if not rows:
            return
        yield rows
        after = int(rows[-1].seq or 0)


def verify_chain(
    session: Session, *, checkpoints: Iterable[Checkpoint] = (), batch: int = 5000
) -> tuple[int, ChainBreak | None]:
    """Seal what is pending, walk the whole chain; return how many events hold and the first break, if any.

    Each event must carry its keyed hash, and the chain must pass through every stored checkpoint and every
    given one (e.g. the bureau's copy of the checkpoint file): a checkpoint records how far the chain once
    reached, so a tail deleted together with a rewound head still shows.
    """
    seal_all(session)
    walk = ChainWalk(_setup(session).key, [*_stored_checkpoints(session), *checkpoints])
    while True:
        walked = False
        for rows in _batches(session, batch, after=walk.last_seq):
            walked = True
            broken = walk.feed((_as_entry(r), r.prev_hash or "", r.hash or "") for r in rows)
            if broken is not None:
                return walk.checked, broken
        head = session.scalar(select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True))
        # If another sealer held the head when this walk began, it may have chained more since (each statement
        # sees the latest commit): walk on to where the head now is, so a busy sealer never reads as a gap.
        if not walked or head is None or head.last_seq <= walk.last_seq:
            break
    return walk.checked, walk.finish(None if head is None else (head.last_seq, head.last_hash))


def _stored_checkpoints(session: Session) -> list[Checkpoint]:
    # Only a checkpoint that found the chain intact vouches for a position.
    rows = session.execute(select(AuditCheckpoint.last_seq, AuditCheckpoint.last_hash, AuditCheckpoint.checked_at)
                           .where(AuditCheckpoint.ok)).all()
    return [Checkpoint(seq, digest, f"the checkpoint of {_utc(at):%Y-%m-%d %H:%M:%S} UTC") for seq, digest, at in rows]


def _utc(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC) if at.tzinfo else at  # SQLite hands back naive UTC


def read_checkpoint_file(path: str | Path) -> list[Checkpoint]:
    """Read the checkpoints of a checkpoint file (or of a log holding the checkpoint lines)."""
    with open(path, encoding="utf-8") as lines:
        return parse_checkpoint_lines(lines, source=str(path))


def event_count(session: Session) -> int:
    """Return the number of audit events."""
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def write_checkpoint(uow: UnitOfWork) -> AuditCheckpoint:
    """Verify the chain and store the result; once per outbox message. Once committed, it is also written out."""
    _checked, broken = verify_chain(uow.session)
    head = uow.session.get(AuditHead, 1)
    checkpoint = AuditCheckpoint(
        outbox_message_id=uow.context.get("outbox_message_id"),
        checked_at=utcnow(),
        last_seq=head.last_seq if head else 0,
        last_hash=head.last_hash if head else GENESIS_HASH,
        ok=broken is None,
        problem=None if broken is None else f"#{broken.seq}: {broken.problem}"[:300],
    )
    uow.session.add(checkpoint)
    # Only after commit: a rolled-back verification also rolls back what it sealed, and the next sealing may
    # number those events differently, so an outside copy written earlier could name a position that never was.
    uow.after_commit("audit.checkpoint_out", functools.partial(
        _write_out, _setup(uow.session).checkpoint_file, checkpoint.last_seq, checkpoint.last_hash,
        checkpoint.checked_at, broken))
    return checkpoint


def _write_out(path: Path | None, seq: int, digest: str, at: dt.datetime, broken: ChainBreak | None,
               _uow: UnitOfWork) -> None:
    """Write a checkpoint outside the database: a log line, and a line appended to the checkpoint file."""
    if broken is not None:
        log.error("audit chain BROKEN at event #%d: %s (no checkpoint written)", broken.seq, broken.problem)
        return
    line = checkpoint_line(seq, digest, at)
    log.info("%s", line)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: each line goes to the end even with several workers; fsync, so a crash does not lose it.
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
    except OSError:
        # The checkpoint is committed and the log line carries it; the next checkpoint covers this position too.
        log.exception("audit checkpoint #%d not appended to %s", seq, path)


def request_checkpoint(uow: UnitOfWork, *, requested_by: str) -> int:
    """Queue a chain verification; return the job id."""
    message = uow.enqueue(CHECKPOINT_JOB, requested_by=requested_by)
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


@dataclass(frozen=True)
class EventFilter:
    """What the audit page searches by: actor (part of it), entity, and a range of Beijing days (inclusive)."""

    actor: str = ""
    entity_type: str = ""
    entity_id: str = ""
    day_from: dt.date | None = None
    day_to: dt.date | None = None


def search_events(session: Session, *, where: EventFilter, offset: int = 0, limit: int = 50
                  ) -> tuple[int, list[AuditEvent]]:
    """Return how many events match and one page of them, newest first."""
    query = select(AuditEvent)
    if where.actor:
        query = query.where(AuditEvent.actor.contains(where.actor, autoescape=True))
    if where.entity_type:
        query = query.where(AuditEvent.entity_type == where.entity_type)
    if where.entity_id:
        query = query.where(AuditEvent.entity_id == where.entity_id)
    if where.day_from:
        query = query.where(AuditEvent.occurred_at >= day_start(where.day_from))
    if where.day_to:
        query = query.where(AuditEvent.occurred_at < day_start(where.day_to + dt.timedelta(days=1)))
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(AuditEvent.id.desc()).offset(offset).limit(limit))
    return total, list(rows)


def checkpoint_of_job(session: Session, *, message_id: int) -> AuditCheckpoint | None:
    """Return the checkpoint a verification job wrote (None while it runs); 404 for any other job or none."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.job != CHECKPOINT_JOB:
        raise NotFound("没有这项审计链验证 / no such chain verification", reason="audit.no_verification")
    return session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.outbox_message_id == message_id))
