"""A worker killed mid-job: its job shows as stalled, another worker's relay sends it again, it ends at its total."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.app import create_app
from subsidy_app.appliances import bulk
from subsidy_app.appliances.models import ApplianceSale, BulkUpload
from subsidy_app.core.outbox import JobProgress
from subsidy_app.seed import seed_demo
from tests.api.test_appliance_bulk_api import sales_file
from tests.appliance_fixtures import appliance_world
from tests.conftest import _settings_dict, make_settings, start_celery_worker, stop_celery_worker
from tests.helpers import bearer

ROWS = 12_000  # three chunks of the real worker (5,000 rows each): the kill comes after the first commits
FAST = {"JOB_HEARTBEAT_SECONDS": "0.5", "JOB_STALL_SECONDS": "2", "OUTBOX_REDELIVER_SECONDS": "2",
        "OUTBOX_RELAY_SECONDS": "1"}


def _poll(condition: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            return found
        time.sleep(0.05)
    return found


def _progress(factory: sessionmaker[Session], job_id: int) -> dict[str, int] | None:
    with factory() as session:
        return session.scalar(select(JobProgress.progress).where(JobProgress.message_id == job_id))


def test_a_worker_killed_mid_job_is_replaced_and_the_bulk_job_ends_with_progress_at_its_total(
        redis_url: str, database_url: str, postgres: None, committed: sessionmaker[Session], tmp_path: Path) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    first = start_celery_worker(redis_url, database_url, tmp_path / "first.log", **FAST)
    second = None
    try:
        settings = make_settings(database_url, redis_url=redis_url, job_stall_seconds=2.0)
        app = create_app({**_settings_dict(settings), "session_factory": committed})
        with app.extensions["subsidy"].unit_of_work() as uow:
            world = appliance_world(uow, seed_demo(uow), pool_amount="100000000.00")
        client = app.test_client()
        headers = bearer(client, "dealer.appliance")
        data, _expected = sales_file(ROWS)
        job_id = client.post("/api/v1/appliance-sales/bulk", headers=headers, content_type="multipart/form-data",
                             data={"store_id": str(world.store_id), "file": (io.BytesIO(data), "day.csv")}
                             ).get_json()["job_id"]

        def status() -> dict[str, Any]:
            return client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()

        assert _poll(lambda: (_progress(committed, job_id) or {}).get("done", 0) >= bulk.CHUNK, 120)
        first.kill()  # SIGKILL mid-file: no warm shutdown, the broker's message stays unacknowledged
        first.wait()
        done_by_the_first = (_progress(committed, job_id) or {})["done"]
        assert bulk.CHUNK <= done_by_the_first < ROWS
        stalled = _poll(lambda: status()["state"] == "stalled", 30)
        assert stalled, status()

        # A second worker, with beat: its relay sends the stalled job again and the job resumes.
        second = start_celery_worker(redis_url, database_url, tmp_path / "second.log", "-B",
                                     f"--schedule={tmp_path / 'beat-schedule'}", **FAST)
        assert _poll(lambda: status()["state"] == "done", 180), (status(), (tmp_path / "second.log").read_text())
        final = status()
        assert (final["progress"], final["runs"]) == ({"done": ROWS, "total": ROWS}, 2)
        with committed() as session:
            report = session.scalar(select(BulkUpload.report))
            sales = session.scalar(select(func.count()).select_from(ApplianceSale))
            serials = session.scalar(select(func.count(func.distinct(ApplianceSale.serial_key))))
        assert (report["accepted_count"], report["error_count"]) == (ROWS - 10, 10)
        assert sales == serials == ROWS - 10
    finally:
        if first.poll() is None:
            first.kill()
        if second is not None:
            stop_celery_worker(second)
