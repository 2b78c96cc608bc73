"""After a fault a job's status tells the truth: progress counts earlier runs, a silent run is stalled, runs again."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.app import create_app
from subsidy_app.appliances import bulk
from subsidy_app.appliances.models import ApplianceSale, BulkUpload
from subsidy_app.core import jobs
from subsidy_app.core.db import utcnow
from subsidy_app.core.job_runs import JobTiming, claim, job_state
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import NullDispatcher, UnitOfWork
from subsidy_app.seed import seed_demo
from tests.api.test_appliance_bulk_api import sales_file
from tests.appliance_fixtures import appliance_world
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer

ROWS, CHUNK = 2_500, 1_000  # three chunks: two commit, the third is where the fault strikes


class Recorder:
    """A dispatcher that only records what it was given."""

    runs_inline = False

    def __init__(self) -> None:
        self.sent: list[int] = []

    def dispatch(self, message_ids: list[int]) -> None:
        self.sent.extend(message_ids)


@pytest.fixture
def quiet_app(postgres: None, database_url: str, committed: sessionmaker[Session]) -> Flask:
    """An app whose writes commit and whose jobs wait in the outbox until the test runs them."""
    settings = _settings_dict(make_settings(database_url))
    return create_app({**settings, "session_factory": committed, "dispatcher_factory": lambda rt: NullDispatcher()})


@pytest.fixture
def bulk_job(quiet_app: Flask, committed_uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[FlaskClient, dict[str, str], int]]:
    """A queued bulk upload of ROWS rows (ten of them bad) processed CHUNK rows per transaction."""
    monkeypatch.setattr(bulk, "CHUNK", CHUNK)
    monkeypatch.setattr(bulk, "SYNC_ROWS", 100)
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount="100000000.00")
    client = quiet_app.test_client()
    headers = bearer(client, "dealer.appliance")
    data, _expected = sales_file(ROWS)
    body = client.post("/api/v1/appliance-sales/bulk", headers=headers, content_type="multipart/form-data",
                       data={"store_id": str(world.store_id), "file": (io.BytesIO(data), "day.csv")}).get_json()
    assert body["job_id"] is not None, body
    yield client, headers, body["job_id"]


def _sales(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        return (int(session.scalar(select(func.count()).select_from(ApplianceSale)) or 0),
                int(session.scalar(select(func.count(func.distinct(ApplianceSale.serial_key)))) or 0))


def _report(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        report = session.scalar(select(BulkUpload.report))
        assert report is not None
        return report


def test_a_bulk_job_resumed_after_a_crash_ends_with_progress_at_its_total(
        bulk_job: tuple[FlaskClient, dict[str, str], int], committed: sessionmaker[Session],
        cipher: PersonalDataCipher, monkeypatch: pytest.MonkeyPatch) -> None:
    client, headers, job_id = bulk_job
    real_write, calls = bulk.write_chunk, []

    def crash_on_the_third_chunk(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionError("worker lost its database mid-chunk")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(bulk, "write_chunk", crash_on_the_third_chunk)
    assert jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher).status == "error"
    after_crash = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert after_crash["state"] == "queued" and after_crash["progress"] == {"done": 2 * CHUNK, "total": ROWS}

    assert jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher).status == "done"
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    # The rerun did the last 500 rows; the first run's 2,000 count too (it showed 500 / 2,500).
    assert (status["state"], status["progress"], status["runs"]) == ("done", {"done": ROWS, "total": ROWS}, 2)
    report = _report(committed)
    assert (report["accepted_count"], report["error_count"]) == (ROWS - 10, 10)
    assert _sales(committed) == (ROWS - 10, ROWS - 10)


def test_the_same_bulk_job_delivered_twice_at_once_is_applied_once(
        bulk_job: tuple[FlaskClient, dict[str, str], int], committed: sessionmaker[Session],
        cipher: PersonalDataCipher, monkeypatch: pytest.MonkeyPatch) -> None:
    # The job commits after each chunk, so its outbox row lock is free between chunks: the second delivery got it,
    # saw the job not done and ran it beside the first, whose later chunks then found their rows sold.
    client, headers, job_id = bulk_job
    real_write, calls = bulk.write_chunk, []
    first_between_chunks, second_tried = threading.Event(), threading.Event()

    def pause_the_first_run_after_its_first_chunk(*args: Any, **kwargs: Any) -> Any:
        calls.append(threading.get_ident())
        if len(calls) == 2:
            first_between_chunks.set()
            second_tried.wait(timeout=20)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(bulk, "write_chunk", pause_the_first_run_after_its_first_chunk)
    outcomes: list[str] = []
    first = threading.Thread(target=lambda: outcomes.append(
        jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher).status))
    first.start()
    try:
        assert first_between_chunks.wait(timeout=60)
        outcomes.append(jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher).status)
    finally:
        second_tried.set()
        first.join(timeout=120)
    assert sorted(outcomes) == ["done", "skipped"]
    report = _report(committed)
    assert (report["accepted_count"], report["error_count"]) == (ROWS - 10, 10)
    assert _sales(committed) == (ROWS - 10, ROWS - 10)
    status = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert (status["state"], status["progress"], status["runs"]) == ("done", {"done": ROWS, "total": ROWS}, 1)


def _queued_job(factory: sessionmaker[Session], *, sent_ago: dt.timedelta | None) -> int:
    with UnitOfWork(factory, NullDispatcher()) as uow:
        message = uow.enqueue("audit.checkpoint", requested_by="user:1")
        uow.commit()
    if sent_ago is not None:
        with factory() as session, session.begin():
            session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                            .values(dispatched_at=utcnow() - sent_ago, dispatch_count=1))
    return message.id


def _silence(factory: sessionmaker[Session], message_id: int, for_: dt.timedelta) -> None:
    """Make the run holding the message look as if its last heartbeat was `for_` ago (its worker was killed)."""
    with factory() as session, session.begin():
        session.execute(update(JobProgress).where(JobProgress.message_id == message_id)
                        .values(heartbeat_at=utcnow() - for_))


def _state(app: Flask, job_id: int) -> dict[str, Any]:
    client = app.test_client()
    return client.get(f"/api/v1/jobs/{job_id}", headers=bearer(client, "admin")).get_json()


def test_a_job_whose_worker_stopped_beating_shows_as_stalled_and_is_sent_again(
        quiet_app: Flask, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    with quiet_app.extensions["subsidy"].unit_of_work() as uow:
        seed_demo(uow)
    job_id = _queued_job(committed, sent_ago=dt.timedelta(minutes=5))
    timing = JobTiming()
    dead_run = claim(committed, job_id, timing)  # a worker took it, then was killed: it never releases
    assert dead_run is not None
    assert _state(quiet_app, job_id)["state"] == "running"
    relay = Recorder()
    assert jobs.relay_pending(committed, relay, timing=timing) == 0  # a live run is left alone

    _silence(committed, job_id, dt.timedelta(seconds=61))
    status = _state(quiet_app, job_id)
    assert (status["state"], status["state_label"]) == ("stalled", "已中断，将自动重新执行 / stalled, will run again")
    assert jobs.relay_pending(committed, relay, timing=timing) == 1 and relay.sent == [job_id]
    assert jobs.relay_pending(committed, relay, timing=timing) == 0  # sent once; the next try waits its interval

    assert jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher, timing).status == "done"
    status = _state(quiet_app, job_id)
    assert (status["state"], status["runs"]) == ("done", 2)


def test_a_running_job_is_not_sent_again_however_long_it_runs_and_a_second_delivery_skips_it(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    job_id = _queued_job(committed, sent_ago=dt.timedelta(hours=1))
    timing = JobTiming()
    live = claim(committed, job_id, timing)
    assert live is not None
    assert jobs.pending_message_ids(committed, timing=timing) == []
    assert jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher, timing).status == "skipped"
    live.release()  # the run ended without finishing (a retryable error): the next delivery takes it at once
    assert jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher, timing).status == "done"


def test_a_message_the_broker_lost_is_sent_again_after_about_a_minute(
        postgres: None, committed: sessionmaker[Session]) -> None:
    recent = _queued_job(committed, sent_ago=dt.timedelta(seconds=30))
    lost = _queued_job(committed, sent_ago=dt.timedelta(seconds=61))
    never = _queued_job(committed, sent_ago=None)
    relay = Recorder()
    assert jobs.relay_pending(committed, relay) == 2
    assert relay.sent == [lost, never] and recent not in relay.sent


def test_relays_running_at_once_send_each_message_once(postgres: None, committed: sessionmaker[Session]) -> None:
    ids = {_queued_job(committed, sent_ago=dt.timedelta(minutes=2)) for _ in range(200)}
    relays = [Recorder() for _ in range(6)]
    start = threading.Barrier(len(relays))

    def relay(recorder: Recorder) -> None:
        start.wait()
        jobs.relay_pending(committed, recorder)

    threads = [threading.Thread(target=relay, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sent = [message_id for r in relays for message_id in r.sent]
    assert sorted(sent) == sorted(ids)


WAITING_JOB = "tests.waits_for_a_signal"
_release_waiting_job = threading.Event()


@jobs.job(WAITING_JOB)
def _wait_for_the_signal(uow: UnitOfWork, requested_by: str, steps: int = 1) -> None:
    """A long step with no progress report in it (like one big import), then a progress report per step."""
    for step in range(steps):
        _release_waiting_job.wait(timeout=30)
        jobs.set_progress(uow, step + 1, steps)


def _poll(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Wait for `condition`, checking every 20 ms (the run under test works in another thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


FAST = JobTiming(heartbeat=dt.timedelta(seconds=0.1), stall_after=dt.timedelta(seconds=0.5))


def _heartbeat(factory: sessionmaker[Session], message_id: int) -> tuple[dt.datetime | None, str | None]:
    with factory() as session:
        row = session.get(JobProgress, message_id)
        return (row.heartbeat_at, row.run_token) if row else (None, None)


def test_a_long_step_without_progress_keeps_beating_so_the_job_is_running_not_stalled(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    job_id = _queued_job(committed, sent_ago=dt.timedelta(minutes=5))
    with UnitOfWork(committed, NullDispatcher()) as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == job_id)
                            .values(job=WAITING_JOB, payload={"requested_by": "user:1"}))
        uow.commit()
    _release_waiting_job.clear()
    outcome: list[str] = []
    run = threading.Thread(target=lambda: outcome.append(
        jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher, FAST).status))
    run.start()
    try:
        assert _poll(lambda: _heartbeat(committed, job_id)[0] is not None)
        started = _heartbeat(committed, job_id)[0]
        assert started is not None
        # The run outlives the stall limit three times over, beating all along.
        assert _poll(lambda: (_heartbeat(committed, job_id)[0] or started) - started >= 3 * FAST.stall_after)
        assert run.is_alive()
        with committed() as session:
            state = job_state(session.get(OutboxMessage, job_id), session.get(JobProgress, job_id),
                                   now=utcnow(), stall_after=FAST.stall_after)
        assert state == "running"
        assert jobs.pending_message_ids(committed, timing=FAST) == []
    finally:
        _release_waiting_job.set()
        run.join(timeout=30)
    assert outcome == ["done"]
    assert _heartbeat(committed, job_id)[1] is None  # the finished run let the job go


def test_a_run_whose_job_was_taken_over_stops_at_its_next_step_without_marking_it_done(
        postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    job_id = _queued_job(committed, sent_ago=None)
    with UnitOfWork(committed, NullDispatcher()) as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == job_id)
                            .values(job=WAITING_JOB, payload={"requested_by": "user:1", "steps": 2}))
        uow.commit()
    _release_waiting_job.clear()
    outcome: list[str] = []
    run = threading.Thread(target=lambda: outcome.append(
        jobs.run_outbox_message(committed, NullDispatcher(), job_id, cipher).status))
    run.start()
    try:
        assert _poll(lambda: _heartbeat(committed, job_id)[1] is not None)
        with committed() as session, session.begin():  # the run fell silent and another run claimed the job
            session.execute(update(JobProgress).where(JobProgress.message_id == job_id).values(run_token="other"))
    finally:
        _release_waiting_job.set()
        run.join(timeout=30)
    assert outcome == ["skipped"]
    with committed() as session:
        assert session.get(OutboxMessage, job_id).done_at is None
        assert session.get(JobProgress, job_id).run_token == "other"  # the newer run's lease is left alone
