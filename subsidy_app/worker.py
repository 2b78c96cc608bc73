"""Celery entry point: `celery -A subsidy_app.worker:celery_app worker` / `beat`.

The Celery app and the database runtime are built on first use, not at import time.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from subsidy_app.audit.services import seal_all
from subsidy_app.broker import RELAY_TASK, RUN_TASK, SCHEDULE_TASK, SEAL_TASK, CeleryDispatcher, make_celery
from subsidy_app.config import Settings, load_settings
from subsidy_app.core.jobs import relay_pending, run_outbox_message
from subsidy_app.runtime import Runtime, build_runtime

_celery: Celery | None = None
_runtime: Runtime | None = None


def worker_runtime() -> Runtime:
    """Return this process's runtime, building it on first use."""
    global _runtime
    if _runtime is None:
        settings = load_settings()
        _runtime = build_runtime(settings, dispatcher_factory=lambda rt: CeleryDispatcher(get_celery(settings),
                                                                                          rt.session_factory))
        import subsidy_app.app as composition  # registers every package's jobs

        composition.register_jobs()
        composition.configure_escrow(settings)
    return _runtime


def get_celery(settings: Settings | None = None) -> Celery:
    """Return the Celery app, creating it and its tasks on first use."""
    global _celery
    if _celery is None:
        _celery = make_celery(settings or load_settings())
        _register_tasks(_celery)
    return _celery


def _register_tasks(app: Celery) -> None:
    @app.task(name=RUN_TASK, bind=True, acks_late=True, max_retries=8)
    def run(self: Task, message_id: int) -> str:
        rt = worker_runtime()
        outcome = run_outbox_message(rt.session_factory, rt.dispatcher, message_id, rt.cipher, rt.job_timing)
        if outcome.status == "error":
            raise self.retry(countdown=min(600, 5 * 2 ** self.request.retries))
        return outcome.status

    @app.task(name=RELAY_TASK, acks_late=True)
    def relay() -> int:
        rt = worker_runtime()
        return relay_pending(rt.session_factory, rt.dispatcher, timing=rt.job_timing)

    @app.task(name=SEAL_TASK)
    def seal() -> int:
        rt = worker_runtime()
        with rt.session_factory() as session, session.begin():
            return seal_all(session)

    @app.task(name=SCHEDULE_TASK, acks_late=True)
    def schedule(job_name: str, **payload: Any) -> None:
        rt = worker_runtime()
        with rt.unit_of_work() as uow:
            uow.enqueue(job_name, **payload)
            uow.commit()


def __getattr__(name: str) -> Any:
    """Build `celery_app` lazily when Celery's -A option asks for it."""
    if name == "celery_app":
        return get_celery()
    raise AttributeError(name)
