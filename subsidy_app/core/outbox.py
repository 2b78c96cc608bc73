"""Outbox table: jobs written in the same transaction as the change that asks for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow


class OutboxMessage(Base):
    """A job accepted with a committed change; sent to the runner after commit, done exactly once."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_pending", "done_at", "dispatched_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[dt.datetime | None]
    dispatch_count: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class JobProgress(Base):
    """How far a job has got and which run holds it, written in their own transactions for the UI to poll.

    Not a column of outbox_message: the job's transaction holds that row FOR UPDATE until it commits, so a progress
    write there waited for the job that made it (a job reporting progress mid-transaction hung for ever). For the
    same reason no foreign key: its check would wait for that row lock too."""

    __tablename__ = "job_progress"

    message_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    progress: Mapped[dict[str, Any] | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The run holding the job and its last sign of life: a run silent past the stall limit is presumed dead (its
    # worker was killed), the job shows as stalled and the relay sends it again. None: no run holds it.
    run_token: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[dt.datetime | None]
    runs: Mapped[int] = mapped_column(default=0)


# What each constraint's refusal means to the client (see core.constraints).
register('pk_job_progress', 'job.progress_exists',
         "任务进度已建立 / the job's progress already exists")
