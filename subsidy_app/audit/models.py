"""Audit tables: append-only events and the single chain head row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow


class AuditEvent(Base):
    """One state change: who did what to which entity; hash-linked to the event before it once sealed.

    Events are written unsealed (seq, prev_hash and hash empty) by the transaction that makes the change, and
    chained shortly after by the sealer in commit order, so writers never queue on the chain head.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_unsealed", "id", postgresql_where=text("hash IS NULL"),
              sqlite_where=text("hash IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(60))
    summary: Mapped[dict[str, Any]]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip; only the sealer locks this row, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A periodic verification of the chain, written by the audit.checkpoint job."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_message_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool]
    problem: Mapped[str | None] = mapped_column(String(300))

# What each constraint's refusal means to the client (see core.constraints).
register('uq_audit_event_seq', 'audit.sequence_taken',
         '审计序号冲突,请重试 / audit sequence clash, retry')
register('uq_audit_checkpoint_outbox_message_id', 'audit.checkpoint_exists',
         '该检查点已记录 / this checkpoint is already recorded')
