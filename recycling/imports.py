"""Bulk intake files (CSV or XLSX): row-level errors, all-or-nothing or valid-rows-only, duplicates refused."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from recycling.certificates import find_certificate
from recycling.intake import IntakeDraft, check_draft, record_intake
from recycling.models import IntakeImport, Site
from recycling.sites import recycler
from recycling.visibility import may_see_import
from subsidy_app.audit import services as audit
from subsidy_app.audit.services import _PENDING as AUDIT_PENDING
from subsidy_app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from subsidy_app.core.personal_data import mask_personal_text
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import seal, unseal
from subsidy_app.identity.domain import Principal

MODES = ("all_or_nothing", "valid_only")
INLINE_ROW_LIMIT = 2000  # larger files run as a background job with progress
MAX_ROWS = 200_000
MAX_REPORTED_ERRORS = 1000
IMPORT_JOB = "recycling.import_intake"
HEADERS = {
    "site_code": "site_code", "网点编码": "site_code", "source": "source", "来源": "source",
    "category": "category", "品类": "category", "units": "units", "数量": "units", "weight_kg": "weight_kg",
    "重量kg": "weight_kg", "重量(kg)": "weight_kg", "重量（kg）": "weight_kg", "occurred_on": "occurred_on",
    "日期": "occurred_on", "certificate_number": "certificate_number", "回收证明编号": "certificate_number",
    "trade_in_ref": "trade_in_ref", "以旧换新单号": "trade_in_ref", "note": "note", "备注": "note",
}
REQUIRED = ("site_code", "source", "category", "units", "weight_kg", "occurred_on")


@dataclass(frozen=True)
class RowError:
    """One problem in a file: its line (header = line 1), field and reason."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """The outcome of an import (or that it was queued as a job)."""

    import_id: int
    status: str  # done | rejected | queued
    mode: str
    rows_total: int
    rows_written: int
    errors: list[RowError]
    job_id: int | None = None


def parse_rows(filename: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV or XLSX file into (line, {field: text}) rows; raise ValidationFailed if unreadable."""
    if filename.lower().endswith(".xlsx"):
        table = _xlsx_rows(content)
    elif filename.lower().endswith(".csv"):
        table = list(csv.reader(io.StringIO(_decode(content))))
    else:
        raise ValidationFailed.field("file", "仅支持 .csv 或 .xlsx 文件 / only .csv or .xlsx files",
                                     reason="import.file_type")
    if not table:
        raise ValidationFailed.field("file", "文件为空 / the file is empty", reason="import.empty")
    header = [HEADERS.get(str(h).strip().lower() if h is not None else "", "") for h in table[0]]
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        raise ValidationFailed.field("file", f"缺少列 / missing columns: {', '.join(missing)}",
                                     reason="import.columns")
    rows = []
    for index, cells in enumerate(table[1:], start=2):
        if not any(str(c).strip() for c in cells if c is not None):
            continue
        rows.append((index, {h: _text(cells[i]) if i < len(cells) else "" for i, h in enumerate(header) if h}))
    if len(rows) > MAX_ROWS:
        raise ValidationFailed.field("file", f"最多 {MAX_ROWS} 行 / at most {MAX_ROWS} rows", reason="import.too_big")
    return rows


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gb18030")  # Excel in Chinese locales saves CSV as GBK


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged file; all mean "not a workbook"
        raise ValidationFailed.field("file", "无法读取 Excel 文件 / not a readable .xlsx file",
                                     reason="import.unreadable") from None
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def to_draft(uow: UnitOfWork, organisation_id: int, sites: dict[str, int], line: int, row: dict[str, str]
             ) -> IntakeDraft | RowError:
    """Turn one row into an intake draft, or the first problem found in it."""
    site_id = sites.get(row.get("site_code", ""))
    if site_id is None:
        return RowError(line, "site_code", "本企业无此网点编码 / no such site code")
    try:
        units = int(row.get("units", ""))
    except ValueError:
        return RowError(line, "units", "数量应为整数 / units must be a whole number")
    try:
        weight = Decimal(row.get("weight_kg", "").replace(",", ""))
    except InvalidOperation:
        return RowError(line, "weight_kg", "重量应为数字（千克）/ weight must be a number of kg")
    try:
        day = dt.date.fromisoformat(row.get("occurred_on", ""))
    except ValueError:
        return RowError(line, "occurred_on", "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD")
    certificate_id = None
    if row.get("certificate_number"):
        try:
            certificate_id = find_certificate(uow, dismantler_org_id=organisation_id,
                                              number=row["certificate_number"])
        except DomainError as exc:
            return RowError(line, "certificate_number", exc.message)
        if certificate_id is None:
            return RowError(line, "certificate_number", "本企业无此回收证明 / no such certificate")
    draft = IntakeDraft(site_id=site_id, source=row.get("source", ""), category=row.get("category", ""), units=units,
                        weight_kg=weight, occurred_on=day, certificate_id=certificate_id,
                        trade_in_ref=row.get("trade_in_ref") or None,
                        note=mask_personal_text(row.get("note", "")))  # a file's note may quote an ID number
    try:
        check_draft(draft)
    except ValidationFailed as exc:
        field = next(iter(exc.errors), "row")
        return RowError(line, field, exc.errors.get(field, [exc.message])[0])
    return draft


def import_intake_file(uow: UnitOfWork, *, actor: str, organisation_id: int, filename: str, content: bytes,
                       mode: str) -> ImportReport:
    """Import a file now, or queue it as a job when large; a file already imported is refused."""
    if mode not in MODES:
        raise ValidationFailed.field("mode", "模式应为 all_or_nothing 或 valid_only / unknown mode")
    recycler(uow, organisation_id)
    digest = hashlib.sha256(content).hexdigest()
    earlier = uow.session.scalar(select(IntakeImport.id).where(IntakeImport.organisation_id == organisation_id,
                                                               IntakeImport.fingerprint == digest))
    if earlier is not None:
        raise Conflict(f"该文件已导入过（导入批次 {earlier}）/ this file was already imported (import {earlier})",
                       reason="import.duplicate")
    rows = parse_rows(filename, content)
    batch = IntakeImport(organisation_id=organisation_id, file_sha256=digest, filename=filename[:200], mode=mode,
                         status="queued", rows_total=len(rows), created_by=actor)
    uow.session.add(batch)
    if len(rows) > INLINE_ROW_LIMIT:
        batch.fingerprint, batch.content = digest, seal(uow, content)  # reserved now: a second upload is refused
        uow.flush()
        job = uow.enqueue(IMPORT_JOB, import_id=batch.id, requested_by=actor)
        uow.flush()
        return ImportReport(batch.id, "queued", mode, len(rows), 0, [], job.id)
    uow.flush()
    return run_import(uow, actor=actor, import_id=batch.id, rows=rows)


def run_import(uow: UnitOfWork, *, actor: str, import_id: int, rows: list[tuple[int, dict[str, str]]] | None = None,
               progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Validate every row, then write them all (or the valid ones); record the outcome on the import."""
    batch = uow.session.get(IntakeImport, import_id, with_for_update=True)
    if batch is None:
        raise NotFound("导入批次不存在 / import not found", reason="import.not_found")
    if batch.status != "queued":
        return _report(batch)
    if rows is None:
        rows = parse_rows(batch.filename, unseal(uow, batch.content) if batch.content else b"")
    sites = {s.code: s.id for s in uow.session.scalars(select(Site).where(
        Site.organisation_id == batch.organisation_id))}
    errors: list[RowError] = []
    drafts: list[tuple[int, IntakeDraft]] = []
    for line, row in rows:
        outcome = to_draft(uow, batch.organisation_id, sites, line, row)
        (errors.append(outcome) if isinstance(outcome, RowError) else drafts.append((line, outcome)))
    written = 0
    if not (errors and batch.mode == "all_or_nothing"):
        written, write_errors = _write(uow, actor, batch, drafts, progress)
        errors.extend(write_errors)
    errors.sort(key=lambda e: e.line)
    batch.rows_written, batch.content = written, None
    batch.errors = [e.__dict__ for e in errors[:MAX_REPORTED_ERRORS]]
    batch.status = "done" if written else "rejected"
    batch.fingerprint = batch.file_sha256 if written else None
    audit.record(uow, actor=actor, action="recycling.intake_imported", entity_type="intake_import", entity_id=batch.id,
                 after={"file": batch.filename, "mode": batch.mode, "rows": batch.rows_total, "written": written,
                        "errors": len(errors)})
    uow.flush()
    return ImportReport(batch.id, batch.status, batch.mode, batch.rows_total, written, errors)


def _write(uow: UnitOfWork, actor: str, batch: IntakeImport, drafts: list[tuple[int, IntakeDraft]],
           progress: Callable[[int, int], None] | None) -> tuple[int, list[RowError]]:
    errors: list[RowError] = []
    written = 0
    all_or_nothing = batch.mode == "all_or_nothing"
    outer = uow.session.begin_nested()
    # Audit events wait in the unit of work until commit; an all-or-nothing failure must drop every row's.
    pending: list[Any] = uow.context.setdefault(AUDIT_PENDING, [])
    start = len(pending)
    for index, (line, draft) in enumerate(drafts, start=1):
        try:
            if all_or_nothing:  # any failure discards the outer savepoint: no per-row savepoint needed
                record_intake(uow, actor=actor, acting_org_id=batch.organisation_id, draft=draft, import_id=batch.id)
            else:
                with uow.savepoint():  # a refused row takes its own audit event with it
                    record_intake(uow, actor=actor, acting_org_id=batch.organisation_id, draft=draft,
                                  import_id=batch.id)
            written += 1
        except DomainError as exc:
            errors.append(RowError(line, next(iter(exc.errors), "row"), exc.message))
            if all_or_nothing:
                outer.rollback()
                del pending[start:]
                return 0, errors
        if progress is not None and index % 200 == 0:
            progress(index, len(drafts))
    outer.commit()
    if progress is not None:  # the last rows since a multiple of 200: a finished import shows all of them
        progress(len(drafts), len(drafts))
    return written, errors


def _report(batch: IntakeImport) -> ImportReport:
    errors = [RowError(int(e["line"]), str(e["field"]), str(e["reason"])) for e in batch.errors or []]
    return ImportReport(batch.id, batch.status, batch.mode, batch.rows_total, batch.rows_written, errors)


def get_import(uow: UnitOfWork, *, import_id: int, principal: Principal | None) -> ImportReport:
    """Show an import's outcome to its recycler's clerks and its county's staff."""
    batch = uow.session.get(IntakeImport, import_id)
    if batch is None or not may_see_import(uow, principal, batch):
        raise NotFound("导入批次不存在 / import not found", reason="import.not_found")
    return _report(batch)
