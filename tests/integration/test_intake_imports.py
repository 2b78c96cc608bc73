"""Bulk intake files: row-level errors, all-or-nothing vs valid rows only, duplicates refused, XLSX, jobs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from recycling import imports
from recycling.models import Intake
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.uow import UnitOfWork
from tests.recycling_support import ACTOR, build_network

DAY = (business_date() - dt.timedelta(days=5)).isoformat()
HEADER = "site_code,source,category,units,weight_kg,occurred_on,trade_in_ref,note"


def csv_file(rows: int, *, bad_row: int | None = None, bad: str = "category", salt: str = "") -> bytes:
    lines = [HEADER]
    for i in range(1, rows + 1):
        category = "appliance.refrigerator"
        weight = f"{50 + i % 7}.5"
        if i == bad_row and bad == "category":
            category = "appliance.teleporter"
        if i == bad_row and bad == "weight":
            weight = "fifty"
        lines.append(f"T-drop_off,resident,{category},1,{weight},{DAY},,{salt}{i}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def intake_count(uow: UnitOfWork) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(Intake)) or 0)


@pytest.fixture
def org(uow: UnitOfWork, demo: dict[str, int]) -> int:
    return build_network(uow, demo).org_id


def test_one_bad_row_in_a_thousand_rejects_everything_in_all_or_nothing_mode(uow: UnitOfWork, org: int) -> None:
    before_audit = len(uow.context.get("audit_pending", []))
    report = imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="jan.csv",
                                        content=csv_file(1000, bad_row=500), mode="all_or_nothing")
    assert report.status == "rejected"
    assert report.rows_written == 0 and report.rows_total == 1000
    assert [(e.line, e.field) for e in report.errors] == [(501, "category")]
    assert intake_count(uow) == 0
    assert len(uow.context.get("audit_pending", [])) == before_audit + 1  # only the import's own event


def test_valid_rows_only_writes_the_rest_and_reports_the_line_and_field(uow: UnitOfWork, org: int) -> None:
    report = imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="jan.csv",
                                        content=csv_file(1000, bad_row=17, bad="weight"), mode="valid_only")
    assert report.status == "done"
    assert report.rows_written == 999
    assert [(e.line, e.field) for e in report.errors] == [(18, "weight_kg")]
    assert intake_count(uow) == 999


def test_the_same_file_imported_twice_is_refused(uow: UnitOfWork, org: int) -> None:
    content = csv_file(20)
    imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="a.csv", content=content,
                               mode="all_or_nothing")
    with pytest.raises(Conflict) as caught:
        imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="renamed.csv", content=content,
                                   mode="valid_only")
    assert caught.value.reason == "import.duplicate"
    assert intake_count(uow) == 20


def test_a_rejected_file_may_be_fixed_and_sent_again(uow: UnitOfWork, org: int) -> None:
    imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="a.csv",
                               content=csv_file(5, bad_row=2), mode="all_or_nothing")
    fixed = imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="a.csv", content=csv_file(5),
                                       mode="all_or_nothing")
    assert fixed.status == "done" and fixed.rows_written == 5


def test_xlsx_with_chinese_headers_imports(uow: UnitOfWork, org: int) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["网点编码", "来源", "品类", "数量", "重量(kg)", "日期"])
    sheet.append(["T-drop_off", "institution", "office.printer", 2, 18.5, business_date() - dt.timedelta(days=1)])
    sheet.append(["T-nowhere", "institution", "office.printer", 2, 18.5, business_date() - dt.timedelta(days=1)])
    buffer = io.BytesIO()
    book.save(buffer)
    report = imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="office.xlsx",
                                        content=buffer.getvalue(), mode="valid_only")
    assert report.rows_written == 1
    assert [(e.line, e.field) for e in report.errors] == [(3, "site_code")]


def test_large_files_run_as_a_job_with_progress(uow: UnitOfWork, org: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "INLINE_ROW_LIMIT", 10)
    report = imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="big.csv",
                                        content=csv_file(30), mode="valid_only")
    assert report.status == "queued" and report.job_id is not None
    assert uow.session.get(OutboxMessage, report.job_id).job == imports.IMPORT_JOB
    done = imports.run_import(uow, actor=ACTOR, import_id=report.import_id)
    assert done.rows_written == 30
    assert intake_count(uow) == 30
    uow.commit()
    assert uow.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "recycling.intake_recorded")) == 30
