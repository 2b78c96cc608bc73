"""Job registry and the exactly-once runner shared by Celery and the in-process default."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import DomainError
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import JobDispatcher, UnitOfWork

log = logging.getLogger(__name__)

JobHandler = Callable[..., None]
_REGISTRY: dict[str, JobHandler] = {}


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
    status: str  # "done", "skipped" (already done or unknown), "failed" (permanent), "error" (retryable)
    error: str | None = None


class TransientJobError(Exception):
    """A failure worth retrying (a dependency was unavailable)."""


def run_outbox_message(
    session_factory: sessionmaker[Session],
    dispatcher: JobDispatcher,
    message_id: int,
    cipher: PersonalDataCipher | None = None,
) -> JobOutcome:
    """Run one outbox message exactly once: the done mark commits with the job's own writes."""
    with UnitOfWork(session_factory, dispatcher, cipher) as uow:
        # The row lock serialises duplicate deliveries: the second sees done_at and skips.
        message = uow.session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None or message.done_at is not None or message.failed_at is not None:
            return JobOutcome(message_id, "skipped")
        handler = _REGISTRY.get(message.job)
        if handler is None:
            error = f"no handler registered for job {message.job!r}"
            uow.rollback()  # release the row lock before recording the failure in its own transaction
            _record_failure(session_factory, message_id, error, permanent=True)
            return JobOutcome(message_id, "failed", error)
        uow.context["outbox_message_id"] = message_id
        try:
            handler(uow, **message.payload)
            message.attempts += 1
            message.done_at = utcnow()
            uow.commit()
        except DomainError as exc:
            uow.rollback()
            _record_failure(session_factory, message_id, f"{exc.reason}: {exc.message}", permanent=True)
            return JobOutcome(message_id, "failed", exc.reason)
        except Exception as exc:
            uow.rollback()
            _record_failure(session_factory, message_id, repr(exc), permanent=False)
            log.exception("job %s (outbox %s) failed", message.job, message_id)
            return JobOutcome(message_id, "error", repr(exc))
    return JobOutcome(message_id, "done")


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
    session_factory: sessionmaker[Session], *, redeliver_after: dt.timedelta, limit: int = 1000
) -> list[int]:
    """List messages never sent, or sent long ago and still not done (a broker lost them)."""
    cutoff = utcnow() - redeliver_after
    with session_factory() as session:
        rows = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.done_at.is_(None), OutboxMessage.failed_at.is_(None))
            .where(or_(OutboxMessage.dispatched_at.is_(None), OutboxMessage.dispatched_at < cutoff))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return list(rows)


def relay_pending(
    session_factory: sessionmaker[Session],
    dispatcher: JobDispatcher,
    *,
    redeliver_after: dt.timedelta = dt.timedelta(minutes=10),
) -> int:
    """Send every pending message again; running them twice is harmless (see run_outbox_message)."""
    ids = pending_message_ids(session_factory, redeliver_after=redeliver_after)
    if ids:
        dispatcher.dispatch(ids)
    return len(ids)


def set_progress(uow: UnitOfWork, done: int, total: int, **extra: Any) -> None:
    """Record a running job's progress in its own transaction, for the UI to poll while the job goes on."""
    message_id = uow.context.get("outbox_message_id")
    if message_id is None:
        return
    if uow.session.get_bind().dialect.name == "sqlite" and uow.session.in_transaction():
        # SQLite has one writer: a second connection would wait for the job's own open transaction. The embedded
        # database serves one user, so such progress shows when the job ends; after a commit it is written.
        return
    values = {"progress": {"done": done, "total": total, **extra}, "updated_at": utcnow()}
    with uow.session_factory() as session, session.begin():
        changed = session.execute(update(JobProgress).where(JobProgress.message_id == message_id).values(**values))
        if not changed.rowcount:  # type: ignore[attr-defined]
            session.add(JobProgress(message_id=message_id, **values))


class InProcessDispatcher:
    """Embedded default: run each job right after the commit, in this process."""

    runs_inline = True

    def __init__(self, session_factory: sessionmaker[Session], cipher: PersonalDataCipher | None = None) -> None:
        self._session_factory = session_factory
        self._cipher = cipher

    def dispatch(self, message_ids: list[int]) -> None:
        """Run the messages now; a failing one stays pending for the relay."""
        mark_dispatched(self._session_factory, message_ids)
        for message_id in message_ids:
            run_outbox_message(self._session_factory, self, message_id, self._cipher)
