"""Upload retention: files' bytes dropped after the period, by the daily job and the command; rows stay."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from subsidy_app.appliances.demo import prepare_store
from subsidy_app.appliances.models import BulkUpload
from subsidy_app.applications.models import BankResultImport, PaymentBatch
from subsidy_app.audit.models import AuditEvent
from subsidy_app.broker import SCHEDULE_TASK, make_celery
from subsidy_app.core.db import utcnow
from subsidy_app.core.jobs import registered_jobs
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import seal, unseal
from subsidy_app.retention import PURGE_JOB, purge_expired_uploads
from tests.conftest import make_settings

_serial = itertools.count(1)


def _bank_import(uow: UnitOfWork, *, days_ago: int) -> int:
    n = next(_serial)
    batch = PaymentBatch(number=f"PBR{n}", state="reconciled", declared_count=1, declared_total=Decimal("1.00"),
                         created_by="t")
    uow.session.add(batch)
    uow.flush()
    data = f"序号,申请编号,金额,结果,银行流水号,说明\n{n},A{n},1.00,成功,B{n},\n".encode()
    row = BankResultImport(batch_id=batch.id, sha256=hashlib.sha256(data).hexdigest(), filename="r.csv",
                           content=seal(uow, data), report={"paid": [f"A{n}"]}, imported_by="t",
                           imported_at=utcnow() - dt.timedelta(days=days_ago))
    uow.session.add(row)
    uow.flush()
    return row.id


def _bulk_upload(uow: UnitOfWork, dealer: int, store: int, *, finished_days_ago: int | None) -> int:
    data = f"file {next(_serial)}".encode()
    done = finished_days_ago is not None
    row = BulkUpload(dealer_org_id=dealer, store_id=store, sha256=hashlib.sha256(data).hexdigest(), filename="d.csv",
                     content=seal(uow, data), state="done" if done else "queued",
                     report={"accepted_count": 1} if done else None, created_by="t",
                     created_at=utcnow() - dt.timedelta(days=90),
                     finished_at=utcnow() - dt.timedelta(days=finished_days_ago) if done else None)
    uow.session.add(row)
    uow.flush()
    return row.id


def test_files_finished_past_the_period_lose_their_bytes_and_keep_hash_and_report(
        uow: UnitOfWork, demo: dict[str, int]) -> None:
    dealer = demo["org:dealer:appliance"]
    store = prepare_store(uow, dealer_org_id=dealer)
    old_bank, new_bank = _bank_import(uow, days_ago=31), _bank_import(uow, days_ago=29)
    old_bulk = _bulk_upload(uow, dealer, store, finished_days_ago=40)
    queued = _bulk_upload(uow, dealer, store, finished_days_ago=None)  # uploaded 90 days ago, its job still due
    purged = purge_expired_uploads(uow, retention_days=30)
    uow.commit()
    assert purged == {"appliance_bulk_upload.content": 1, "bank_result_import.content": 1}
    uow.session.expire_all()
    gone = uow.session.get(BankResultImport, old_bank)
    assert gone is not None and gone.content is None and len(gone.sha256) == 64 and gone.report["paid"]
    kept = uow.session.get(BankResultImport, new_bank)
    assert kept is not None and kept.content is not None and unseal(uow, kept.content).startswith("序号".encode())
    bulk = uow.session.get(BulkUpload, old_bulk)
    assert bulk is not None and bulk.content is None and bulk.report == {"accepted_count": 1}
    waiting = uow.session.get(BulkUpload, queued)
    assert waiting is not None and waiting.content is not None
    event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "uploads.purged")).one()
    assert event.summary["after"]["bank_result_import.content"] == 1
    assert purge_expired_uploads(uow, retention_days=30) == {"appliance_bulk_upload.content": 0,
                                                             "bank_result_import.content": 0}


def test_the_daily_job_is_scheduled_with_the_configured_retention_and_runs_through_the_outbox(
        uow: UnitOfWork, database_url: str) -> None:
    beat = make_celery(make_settings(database_url, upload_retention_days=7)).conf.beat_schedule
    assert beat["uploads-purge-daily"]["task"] == SCHEDULE_TASK
    assert beat["uploads-purge-daily"]["args"] == [PURGE_JOB]
    assert beat["uploads-purge-daily"]["kwargs"] == {"retention_days": 7}
    assert PURGE_JOB in registered_jobs()
    week_old, fresh = _bank_import(uow, days_ago=8), _bank_import(uow, days_ago=6)
    uow.enqueue(PURGE_JOB, retention_days=7)
    uow.commit()  # the in-process dispatcher runs it after the commit
    uow.session.expire_all()
    assert uow.session.get(BankResultImport, week_old).content is None  # type: ignore[union-attr]
    assert uow.session.get(BankResultImport, fresh).content is not None  # type: ignore[union-attr]


def test_the_command_purges_with_the_setting_or_the_days_given(app: Flask, uow: UnitOfWork) -> None:
    month_old, ten_days = _bank_import(uow, days_ago=31), _bank_import(uow, days_ago=10)
    uow.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["uploads", "purge"])
    assert first.exit_code == 0, first.output
    assert "bank_result_import.content: 1 file(s) purged" in first.output and "more than 30 days" in first.output
    second = runner.invoke(args=["uploads", "purge", "--days", "5"])
    assert "bank_result_import.content: 1 file(s) purged" in second.output
    uow.session.expire_all()
    assert [uow.session.get(BankResultImport, i).content for i in (month_old, ten_days)] == [None, None]  # type: ignore[union-attr]
    assert runner.invoke(args=["uploads", "purge", "--days", "0"]).exit_code == 2
