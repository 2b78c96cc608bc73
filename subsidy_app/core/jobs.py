"""Job registry and the exactly-once runner shared by Celery and the in-process default."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import DomainError
from subsidy_app.core.job_runs import (
    JobSuperseded,
    JobTiming,
    Lease,
    claim,
    due_for_delivery,
    held_by_live_run,
    tracks_runs,
)
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import JobDispatcher, UnitOfWork

log = logging.getLogger(__name__)

JobHandler = Callable[..., None]
_REGISTRY: dict[str, JobHandler] = {}
LEASE = "job_lease"  # uow.context key of the running job's lease


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register a job handler `handler(uow, **payload)` under a stable name."""

    def register(handler: JobHandler) -> JobHandler:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not handler:
            raise RuntimeError(f"job {name!r} registered twice")
        _REGISTRY[name] = handler
        return handler

    return register


def registered_jobs() -> dict[str, JobHandler]:
    """Return a copy of the registry."""
    return dict(_REGISTRY)


@dataclass(frozen=True)
class JobOutcome:
    """What one run of an outbox message did."""

    message_id: int
    status: str  # "done", "skipped" (done, unknown or held by a live run), "failed" (permanent), "error" (retryable)
    error: str | None = None


class TransientJobError(Exception):
    """A failure worth retrying (a dependency was unavailable)."""


def run_outbox_message(
    session_factory: sessionmaker[Session],
    dispatcher: JobDispatcher,
    message_id: int,
    cipher: PersonalDataCipher | None = None,
    timing: JobTiming | None = None,
) -> JobOutcome:
    """Run one outbox message exactly once: the done mark commits with the job's own writes."""
    timing = timing or JobTiming()
    with UnitOfWork(session_factory, dispatcher, cipher) as uow:
        # The row lock serialises duplicate deliveries: the second sees done_at and skips.
        message = _lock_message(uow.session, message_id, timing)
        if message is None or message.done_at is not None or message.failed_at is not None:
            return JobOutcome(message_id, "skipped")
        handler = _REGISTRY.get(message.job)
        if handler is None:
            error = f"no handler registered for job {message.job!r}"
            uow.rollback()  # release the row lock before recording the failure in its own transaction
            _record_failure(session_factory, message_id, error, permanent=True)
            return JobOutcome(message_id, "failed", error)
        tracked = tracks_runs(session_factory)
        lease = claim(session_factory, message_id, timing) if tracked else None
        if tracked and lease is None:
            # A job that commits as it goes lets the row lock go between its steps: its lease keeps it.
            return JobOutcome(message_id, "skipped")
        uow.context["outbox_message_id"] = message_id
        uow.context[LEASE] = lease
        try:
            with lease.beating() if lease is not None else nullcontext():
                handler(uow, **message.payload)
                if lease is not None:
                    lease.confirm(uow.session)
                message.attempts += 1
                message.done_at = utcnow()
                uow.commit()
        except JobSuperseded:
            uow.rollback()
            log.warning("job %s (outbox %s) was taken over by another run", message.job, message_id)
            return JobOutcome(message_id, "skipped")
        except DomainError as exc:
            uow.rollback()
            _record_failure(session_factory, message_id, f"{exc.reason}: {exc.message}", permanent=True)
            return JobOutcome(message_id, "failed", exc.reason)
        except Exception as exc:
            uow.rollback()
            _record_failure(session_factory, message_id, repr(exc), permanent=False)
            log.exception("job %s (outbox %s) failed", message.job, message_id)
            return JobOutcome(message_id, "error", repr(exc))
        finally:
            if lease is not None:
                lease.release()
    return JobOutcome(message_id, "done")


def _lock_message(session: Session, message_id: int, timing: JobTiming) -> OutboxMessage | None:
    """Lock the message row; skip at once (None) a message a live run holds rather than wait for that run to end."""
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    message = session.scalar(query.with_for_update(skip_locked=True))
    if message is None and held_by_live_run(session, message_id, timing):
        return None
    return message if message is not None else session.scalar(query.with_for_update())


def _record_failure(
    session_factory: sessionmaker[Session], message_id: int, error: str, *, permanent: bool
) -> None:
    with session_factory() as session, session.begin():
        values: dict[str, Any] = {"last_error": error[:2000], "attempts": OutboxMessage.attempts + 1}
        if permanent:
            values["failed_at"] = utcnow()
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def mark_dispatched(session_factory: sessionmaker[Session], message_ids: list[int]) -> None:
    """Record that the broker accepted these messages."""
    with session_factory() as session, session.begin():
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids))
            .values(dispatched_at=utcnow(), dispatch_count=OutboxMessage.dispatch_count + 1)
        )


def pending_message_ids(
    session_factory: sessionmaker[Session], *, timing: JobTiming | None = None, limit: int = 1000
) -> list[int]:
    """List messages never sent, sent long ago and not done (a broker lost them), or whose run fell silent."""
    with session_factory() as session:
        return list(session.scalars(select(OutboxMessage.id).where(due_for_delivery(utcnow(), timing or JobTiming()))
                                    .order_by(OutboxMessage.id).limit(limit)))


def relay_pending(
    session_factory: sessionmaker[Session], dispatcher: JobDispatcher, *, timing: JobTiming | None = None,
    limit: int = 1000,
) -> int:
    """Send every pending message again; running them twice is harmless (see run_outbox_message)."""
    now = utcnow()
    with session_factory() as session, session.begin():
        # Claimed in one transaction: a relay running beside this one skips the locked rows, and once this commits
        # they were just sent, so neither sends a message the other sends.
        ids = list(session.scalars(select(OutboxMessage.id).where(due_for_delivery(now, timing or JobTiming()))
                                   .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)))
        if ids:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(dispatched_at=now))
    if ids:
        dispatcher.dispatch(ids)
    return len(ids)


def set_progress(uow: UnitOfWork, done: int, total: int, **extra: Any) -> None:
    """Record a running job's progress (and a heartbeat) in its own transaction, for the UI to poll meanwhile.

    `done` counts what is durably done, including what an earlier, interrupted run did: a resumed job's progress
    ends at its total."""
    message_id = uow.context.get("outbox_message_id")
    if message_id is None:
        return
    if uow.session.get_bind().dialect.name == "sqlite" and uow.session.in_transaction():
        # SQLite has one writer: a second connection would wait for the job's own open transaction. The embedded
        # database serves one user, so such progress shows when the job ends; after a commit it is written.
        return
    values = {"progress": {"done": done, "total": total, **extra}, "updated_at": utcnow()}
    lease: Lease | None = uow.context.get(LEASE)
    with uow.session_factory() as session, session.begin():
        if lease is not None:  # the run's row exists; a lease lost to another run stops this one here
            lease.beat(session, **values)
            return
        changed = session.execute(update(JobProgress).where(JobProgress.message_id == message_id).values(**values))
        if not changed.rowcount:  # type: ignore[attr-defined]
            session.add(JobProgress(message_id=message_id, **values))


class InProcessDispatcher:
    """Embedded default: run each job right after the commit, in this process."""

    runs_inline = True

    def __init__(self, session_factory: sessionmaker[Session], cipher: PersonalDataCipher | None = None,
                 timing: JobTiming | None = None) -> None:
        self._session_factory = session_factory
        self._cipher = cipher
        self._timing = timing

    def dispatch(self, message_ids: list[int]) -> None:
        """Run the messages now; a failing one stays pending for the relay."""
        mark_dispatched(self._session_factory, message_ids)
        for message_id in message_ids:
            run_outbox_message(self._session_factory, self, message_id, self._cipher, self._timing)
