"""With a real Redis broker and a real Celery worker: a broker outage loses nothing, jobs run exactly once."""

from __future__ import annotations

import time

import redis
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.app import create_app
from subsidy_app.audit.models import AuditCheckpoint
from subsidy_app.broker import RUN_TASK, CeleryDispatcher, make_celery
from subsidy_app.core.jobs import relay_pending
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.seed import seed_demo
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer, wait_until


def _checkpoints(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def _app_with_broker(database_url: str, committed: sessionmaker[Session], broker_url: str) -> Flask:
    settings = make_settings(database_url, redis_url=broker_url)
    return create_app({**_settings_dict(settings), "session_factory": committed})


def test_write_succeeds_with_broker_down_and_job_runs_once_when_it_is_back(
    database_url: str, committed: sessionmaker[Session], celery_worker: dict[str, str]
) -> None:
    down_app = _app_with_broker(database_url, committed, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    with down_app.extensions["subsidy"].unit_of_work() as uow:
        seed_demo(uow)
    client = down_app.test_client()
    response = client.post("/api/v1/audit/checkpoints", headers=bearer(client, "admin"))
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    with committed() as session:
        message = session.get(OutboxMessage, job_id)
        assert message is not None and message.dispatched_at is None and message.done_at is None

    # The broker is back: the relay hands the job to the real worker.
    up = CeleryDispatcher(make_celery(make_settings(database_url, redis_url=celery_worker["redis_url"])), committed)
    assert relay_pending(committed, up) == 1
    assert wait_until(lambda: _checkpoints(committed) == 1)

    # A second relay and a duplicate delivery (as after a worker crash) change nothing.
    with committed() as session:
        session.get(OutboxMessage, job_id)
    relay_pending(committed, up)
    make_celery(make_settings(database_url, redis_url=celery_worker["redis_url"])).send_task(RUN_TASK, args=[job_id])
    time.sleep(2)
    assert _checkpoints(committed) == 1
    with committed() as session:
        done = session.get(OutboxMessage, job_id)
        assert done is not None and done.done_at is not None


def test_job_enqueued_with_broker_up_runs_on_the_worker(
    database_url: str, committed: sessionmaker[Session], celery_worker: dict[str, str]
) -> None:
    app = _app_with_broker(database_url, committed, celery_worker["redis_url"])
    with app.extensions["subsidy"].unit_of_work() as uow:
        seed_demo(uow)
    client = app.test_client()
    headers = bearer(client, "admin")
    job_id = client.post("/api/v1/audit/checkpoints", headers=headers).get_json()["job_id"]
    assert wait_until(lambda: _checkpoints(committed) == 1)
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert status["state"] == "done"
    assert redis.Redis.from_url(celery_worker["redis_url"]).ping()
    # The worker, configured by AUDIT_CHECKPOINT_FILE, also wrote the checkpoint outside the database.
    from subsidy_app.audit.services import read_checkpoint_file

    with committed() as session:
        stored = session.execute(select(AuditCheckpoint.last_seq, AuditCheckpoint.last_hash)).one()
    assert [(p.seq, p.hash) for p in read_checkpoint_file(celery_worker["checkpoints"])] == [tuple(stored)]


def test_the_worker_seals_audit_events_written_under_the_broker(
    database_url: str, committed: sessionmaker[Session], celery_worker: dict[str, str]
) -> None:
    from subsidy_app.audit import services as audit
    from subsidy_app.audit.models import AuditEvent
    from subsidy_app.broker import SEAL_TASK
    from subsidy_app.core.uow import UnitOfWork

    celery = make_celery(make_settings(database_url, redis_url=celery_worker["redis_url"]))
    assert celery.conf.beat_schedule["audit-seal"]["task"] == SEAL_TASK
    with UnitOfWork(committed, CeleryDispatcher(celery, committed)) as uow:
        for i in range(3):
            audit.record(uow, actor="test", action="thing.changed", entity_type="thing", entity_id=i)
        uow.commit()

    def unsealed() -> int:
        with committed() as session:
            return int(session.scalar(select(func.count()).where(AuditEvent.hash.is_(None))) or 0)

    assert unsealed() == 3  # with a worker, writers leave sealing to it
    celery.send_task(SEAL_TASK)
    assert wait_until(lambda: unsealed() == 0)
    with committed() as session:
        assert audit.verify_chain(session) == (3, None)
