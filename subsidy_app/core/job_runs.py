"""Job runs: the lease a run holds on its job, its heartbeat, and the state a user sees."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.db import utcnow
from subsidy_app.core.outbox import JobProgress, OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobTiming:
    """How often a run beats, when a silent run counts as stalled, when a message not started is sent again."""

    heartbeat: dt.timedelta = dt.timedelta(seconds=15)
    stall_after: dt.timedelta = dt.timedelta(seconds=60)
    redeliver_after: dt.timedelta = dt.timedelta(seconds=60)

    @classmethod
    def of_seconds(cls, *, heartbeat: float, stall_after: float, redeliver_after: float) -> JobTiming:
        """Build the timing from the settings' seconds."""
        return cls(dt.timedelta(seconds=heartbeat), dt.timedelta(seconds=stall_after),
                   dt.timedelta(seconds=redeliver_after))


class JobSuperseded(Exception):
    """Another run took this job over after this one fell silent past the stall limit."""


def tracks_runs(session_factory: sessionmaker[Session]) -> bool:
    """Tell whether runs hold leases and beat: not on SQLite, nor on one connection shared by a test."""
    bind = session_factory.kw.get("bind")
    # SQLite has one writer: a heartbeat beside the job's open write transaction would wait for it. The embedded
    # database runs jobs inline in its one process, where no run dies unseen. A factory bound to one connection
    # (a test's rolled-back transaction) cannot be used by a second thread.
    return bind is not None and not isinstance(bind, Connection) and bind.dialect.name != "sqlite"


def live_run(now: dt.datetime, stall_after: dt.timedelta) -> ColumnElement[bool]:
    """A run holds the message and beat within the stall limit."""
    return exists().where(JobProgress.message_id == OutboxMessage.id, JobProgress.run_token.is_not(None),
                          JobProgress.heartbeat_at >= now - stall_after)


def stalled_run(now: dt.datetime, stall_after: dt.timedelta) -> ColumnElement[bool]:
    """A run holds the message but fell silent, and the message was not sent again since."""
    return exists().where(JobProgress.message_id == OutboxMessage.id, JobProgress.run_token.is_not(None),
                          JobProgress.heartbeat_at < now - stall_after,
                          or_(OutboxMessage.dispatched_at.is_(None),
                              OutboxMessage.dispatched_at < JobProgress.heartbeat_at))


def due_for_delivery(now: dt.datetime, timing: JobTiming) -> ColumnElement[bool]:
    """Pending, held by no live run, and never sent, sent long enough ago, or stalled since it was sent."""
    return and_(OutboxMessage.done_at.is_(None), OutboxMessage.failed_at.is_(None), ~live_run(now, timing.stall_after),
                or_(OutboxMessage.dispatched_at.is_(None), OutboxMessage.dispatched_at < now - timing.redeliver_after,
                    stalled_run(now, timing.stall_after)))


class Lease:
    """A run's hold on its job: kept while it beats, lost to another run once silent past the stall limit."""

    def __init__(self, session_factory: sessionmaker[Session], message_id: int, token: str, timing: JobTiming
                 ) -> None:
        self._session_factory = session_factory
        self.message_id = message_id
        self.token = token
        self._timing = timing
        self.lost = False

    def _mine(self) -> ColumnElement[bool]:
        return and_(JobProgress.message_id == self.message_id, JobProgress.run_token == self.token)

    def beat(self, session: Session, **values: object) -> None:
        """Record a sign of life (and any other values) in `session`; raise JobSuperseded if the job was taken over."""
        changed = session.execute(update(JobProgress).where(self._mine()).values(heartbeat_at=utcnow(), **values))
        if not changed.rowcount:  # type: ignore[attr-defined]
            self.lost = True
        self.check()

    def check(self) -> None:
        """Raise JobSuperseded if another run holds the job now."""
        if self.lost:
            raise JobSuperseded(f"job {self.message_id} was taken over by another run")

    def confirm(self, session: Session) -> None:
        """Check, in the job's own transaction before its done mark, that this run still holds the job."""
        # A plain read, no lock: a claimer holds the outbox row and waits for job_progress; locking here would deadlock.
        held = session.scalar(select(JobProgress.run_token).where(JobProgress.message_id == self.message_id))
        if held != self.token:
            self.lost = True
        self.check()

    def release(self) -> None:
        """Let the job go (done, failed or to be retried), so a later delivery needs no stall to take it."""
        try:
            with self._session_factory() as session, session.begin():
                session.execute(update(JobProgress).where(self._mine()).values(run_token=None, heartbeat_at=utcnow()))
        except Exception:  # the database is away: the lease then lapses by the stall limit
            log.warning("could not release job %s", self.message_id, exc_info=True)

    @contextmanager
    def beating(self) -> Iterator[None]:
        """Beat from a thread while the body runs, so a long step between progress reports does not look dead."""
        stop = threading.Event()
        thread = threading.Thread(target=self._beat_until, args=(stop,), name=f"job-{self.message_id}-heartbeat",
                                  daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _beat_until(self, stop: threading.Event) -> None:
        while not stop.wait(self._timing.heartbeat.total_seconds()):
            try:
                with self._session_factory() as session, session.begin():
                    self.beat(session)
            except JobSuperseded:
                log.warning("job %s was taken over by another run; this run stops at its next step", self.message_id)
                return
            except Exception:  # a missed beat is retried; only a silence past the stall limit counts
                log.warning("job %s heartbeat failed", self.message_id, exc_info=True)


def claim(session_factory: sessionmaker[Session], message_id: int, timing: JobTiming) -> Lease | None:
    """Take the job for this run in its own transaction; None while another run holds it and beats."""
    token = secrets.token_hex(16)
    now = utcnow()
    with session_factory() as session, session.begin():
        row = session.get(JobProgress, message_id, with_for_update=True)
        if row is None:
            session.add(JobProgress(message_id=message_id, progress=None, updated_at=now, run_token=token,
                                    heartbeat_at=now, runs=1))
        elif row.run_token is not None and (row.heartbeat_at or now) >= now - timing.stall_after:
            return None  # another run beats: it holds the job
        else:
            row.run_token, row.heartbeat_at, row.runs = token, now, row.runs + 1
    return Lease(session_factory, message_id, token, timing)


def held_by_live_run(session: Session, message_id: int, timing: JobTiming) -> bool:
    """Tell whether a run holds the message and beats."""
    return bool(session.scalar(select(live_run(utcnow(), timing.stall_after)).where(OutboxMessage.id == message_id)))


STATE_LABELS = {
    "queued": "排队中 / queued",
    "running": "运行中 / running",
    "stalled": "已中断，将自动重新执行 / stalled, will run again",
    "done": "已完成 / done",
    "failed": "失败 / failed",
}


def job_state(message: OutboxMessage, run: JobProgress | None, *, now: dt.datetime, stall_after: dt.timedelta
              ) -> str:
    """Name the state a user sees: a run silent past the stall limit is stalled, not running."""
    if message.done_at:
        return "done"
    if message.failed_at:
        return "failed"
    if run is None:
        return "queued"
    if run.run_token is not None and run.heartbeat_at is not None:
        return "running" if run.heartbeat_at >= now - stall_after else "stalled"
    if run.heartbeat_at is None and run.progress:  # no lease kept (the embedded database): progress shows the run
        return "running"
    return "queued"  # a run ended without finishing: it waits for its retry
