"""Bulk intake files (CSV or XLSX): row-level errors, all-or-nothing or valid-rows-only, duplicates refused."""

from __future__ import annotations

import datetime as dt
import hashlib
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
from subsidy_app.core.tables import RowError, header_index, named, read_table
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import seal, unseal
from subsidy_app.identity.domain import Principal

MODES = ("all_or_nothing", "valid_only")
INLINE_ROW_LIMIT = 2000  # larger files run as a background job with progress
MAX_ROWS = 200_000
MAX_REPORTED_ERRORS = 1000
IMPORT_JOB = "recycling.import_intake"
COLUMNS: dict[str, tuple[str, ...]] = {
    "site_code": ("网点编码",), "source": ("来源",), "category": ("品类",), "units": ("数量",),
    "weight_kg": ("重量kg", "重量(kg)", "重量（kg）"), "occurred_on": ("日期",),
}
OPTIONAL = {"certificate_number": ("回收证明编号",), "trade_in_ref": ("以旧换新单号",), "note": ("备注",)}


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
    """Read a CSV or XLSX file into (line, {field: text}) rows; raise ValidationFailed naming `file` if unreadable."""
    table = read_table(filename, content, max_rows=MAX_ROWS)
    at = header_index(table.header, COLUMNS, OPTIONAL)
    return [(line, named(cells, at)) for line, cells in table.rows]


def _row_error(line: int, field: str, message: str) -> RowError:
    return RowError(line, field, f"import.{field}", message)


def to_draft(uow: UnitOfWork, organisation_id: int, sites: dict[str, int], line: int, row: dict[str, str]
             ) -> IntakeDraft | RowError:
    """Turn one row into an intake draft, or the first problem found in it."""
    site_id = sites.get(row.get("site_code", ""))
    if site_id is None:
        return _row_error(line, "site_code", "本企业无此网点编码 / no such site code")
    try:
        units = int(row.get("units", ""))
    except ValueError:
        return _row_error(line, "units", "数量应为整数 / units must be a whole number")
    try:
        weight = Decimal(row.get("weight_kg", "").replace(",", ""))
    except InvalidOperation:
        return _row_error(line, "weight_kg", "重量应为数字（千克）/ weight must be a number of kg")
    try:
        day = dt.date.fromisoformat(row.get("occurred_on", ""))
    except ValueError:
        return _row_error(line, "occurred_on", "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD")
    certificate_id = None
    if row.get("certificate_number"):
        try:
            certificate_id = find_certificate(uow, dismantler_org_id=organisation_id,
                                              number=row["certificate_number"])
        except DomainError as exc:
            return RowError(line, "certificate_number", exc.reason, exc.message)
        if certificate_id is None:
            return _row_error(line, "certificate_number", "本企业无此回收证明 / no such certificate")
    draft = IntakeDraft(site_id=site_id, source=row.get("source", ""), category=row.get("category", ""), units=units,
                        weight_kg=weight, occurred_on=day, certificate_id=certificate_id,
                        trade_in_ref=row.get("trade_in_ref") or None,
                        note=mask_personal_text(row.get("note", "")))  # a file's note may quote an ID number
    try:
        check_draft(draft)
    except ValidationFailed as exc:
        field = next(iter(exc.errors), "row")
        return RowError(line, field, exc.reason, exc.errors.get(field, [exc.message])[0])
    return draft


def import_intake_file(uow: UnitOfWork, *, actor: str, organisation_id: int, filename: str, content: bytes,
                       mode: str, queue: bool = False) -> ImportReport:
    """Import a file now, or queue it as a job when large or asked (pages poll it); a file imported is refused."""
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
    if queue or len(rows) > INLINE_ROW_LIMIT:
        batch.fingerprint, batch.content = digest, seal(uow, content)  # reserved now: a second upload is refused
        uow.flush()
        job = uow.enqueue(IMPORT_JOB, import_id=batch.id, requested_by=actor, visible_to_org=organisation_id)
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
            errors.append(RowError(line, next(iter(exc.errors), "row"), exc.reason, exc.message))
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
    # Imports reported before the shared RowError kept the message under `reason` and had no code.
    errors = [RowError(int(e["line"]), str(e["field"]), str(e["reason"]) if "message" in e else "import.row",
                       str(e.get("message", e["reason"]))) for e in batch.errors or []]
    return ImportReport(batch.id, batch.status, batch.mode, batch.rows_total, batch.rows_written, errors)


def get_import(uow: UnitOfWork, *, import_id: int, principal: Principal | None) -> ImportReport:
    """Show an import's outcome to its recycler's clerks and its county's staff."""
    batch = uow.session.get(IntakeImport, import_id)
    if batch is None or not may_see_import(uow, principal, batch):
        raise NotFound("导入批次不存在 / import not found", reason="import.not_found")
    return _report(batch)
