"""Celery wiring: the Celery app's settings and the dispatcher that hands outbox jobs to the broker."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery
from celery.schedules import crontab
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.config import Settings
from subsidy_app.core.jobs import mark_dispatched

log = logging.getLogger(__name__)

RUN_TASK = "outbox.run"
RELAY_TASK = "outbox.relay"
SCHEDULE_TASK = "outbox.schedule"
SEAL_TASK = "audit.seal"
# How often the audit sealer chains newly committed events (seconds): the window in which an event exists but
# is not yet covered by the hash chain. It is append-only in the database meanwhile.
AUDIT_SEAL_SECONDS = 2.0

# Periodic jobs: name -> (schedule, job name). Each tick writes an outbox message, so it runs exactly once.
BEAT_JOBS: dict[str, tuple[Any, str]] = {
    "audit-checkpoint-nightly": (crontab(hour=2, minute=0), "audit.checkpoint"),
    "reverse-invoice-filings-monthly": (crontab(day_of_month=1, hour=0, minute=30), "reverse_invoice.prepare_filings"),
    "reverse-invoice-suspensions-daily": (crontab(hour=0, minute=45), "reverse_invoice.check_suspensions"),
    "recycling-overdue-hand-ins-daily": (crontab(hour=1, minute=10), "recycling.flag_overdue"),
    "recycling-due-reports-daily": (crontab(hour=1, minute=30), "recycling.make_due_reports"),
    "uploads-purge-daily": (crontab(hour=3, minute=20), "uploads.purge_expired"),
    # Just after midnight in Beijing (beat's timezone): a case is overdue from the day after its deadline.
    "complaints-overdue-daily": (crontab(hour=0, minute=20), "oversight.flag_overdue_cases"),
    "review-weeks-daily": (crontab(hour=0, minute=20), "applications.keep_review_weeks"),
}


def beat_payload(settings: Settings, job: str) -> dict[str, Any]:
    """The payload a periodic job is queued with: what it needs from the worker's settings."""
    if job == "uploads.purge_expired":
        return {"retention_days": settings.upload_retention_days}
    return {}


def make_celery(settings: Settings) -> Celery:
    """Create the Celery app for a broker URL; tasks are registered by subsidy_app.worker."""
    app = Celery("subsidy_app", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="Asia/Shanghai",
        enable_utc=True,
        # Publishing must fail fast when the broker is down: the job is safe in the outbox. A broker that hangs
        # without closing the connection (paused, failed over) would hold the request forever without the
        # socket timeout: it bounds every command, and kombu's consumer loop keeps its own BRPOP timing.
        task_publish_retry=False,
        broker_connection_timeout=2,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 2, "visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        beat_schedule={
            # Often enough that a lost or stalled job is sent again within about its redelivery interval; an
            # expired tick is dropped, the next one does the same work.
            "outbox-relay": {"task": RELAY_TASK, "schedule": settings.outbox_relay_seconds,
                             "options": {"expires": settings.outbox_relay_seconds}},
            "audit-seal": {"task": SEAL_TASK, "schedule": AUDIT_SEAL_SECONDS, "options": {"expires": 30}},
            **{
                name: {"task": SCHEDULE_TASK, "schedule": schedule, "args": [job],
                       "kwargs": beat_payload(settings, job)}
                for name, (schedule, job) in BEAT_JOBS.items()
            },
        },
    )
    return app


class CeleryDispatcher:
    """Send outbox message ids to Celery; on a broker error leave them for the relay and back off."""

    runs_inline = False

    def __init__(self, celery: Celery, session_factory: sessionmaker[Session], backoff_seconds: float = 5.0) -> None:
        self._celery = celery
        self._session_factory = session_factory
        self._backoff = backoff_seconds
        self._down_until = 0.0

    def dispatch(self, message_ids: list[int]) -> None:
        """Publish each message; never raise, the outbox keeps what was not sent."""
        if time.monotonic() < self._down_until:
            return
        sent: list[int] = []
        try:
            for message_id in message_ids:
                self._celery.send_task(RUN_TASK, args=[message_id])
                sent.append(message_id)
        except Exception as exc:  # the broker's errors vary by transport; all mean "try later"
            self._down_until = time.monotonic() + self._backoff
            log.warning("broker unavailable, %d job(s) left in the outbox: %s", len(message_ids) - len(sent), exc)
        if sent:
            mark_dispatched(self._session_factory, sent)
