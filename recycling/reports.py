"""Stored ten-day and monthly reports: make (idempotent per period), list, download, and the due ones."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from recycling.domain import Period, dekad_of, last_completed_periods, parse_period
from recycling.models import RecoveryReport
from recycling.workbook import build_workbook
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import NotFound, ValidationFailed
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.uow import UnitOfWork

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAKE_JOB = "recycling.make_report"


@dataclass(frozen=True)
class ReportInfo:
    """A stored report without its bytes."""

    id: int
    period: str
    kind: str
    period_start: dt.date
    period_end: dt.date
    size: int
    sha256: str
    generated_by: str
    generated_at: dt.datetime

    @property
    def filename(self) -> str:
        """Return the download file name."""
        return f"lvliang-recovery-{self.period}.xlsx"


def period_of(code: str, *, today: dt.date | None = None) -> Period:
    """Parse a period code and refuse periods that have not ended yet."""
    try:
        period = parse_period(code)
    except ValueError as exc:
        raise ValidationFailed.field("period", f"期间格式应为 YYYY-MM-1|2|3 或 YYYY-MM / {exc}",
                                     reason="report.period") from None
    if period.end >= (today or business_date()):
        raise ValidationFailed.field("period", "该期间尚未结束 / the period has not ended yet",
                                     reason="report.period_open")
    return period


def _info(row: RecoveryReport) -> ReportInfo:
    return ReportInfo(row.id, row.period, row.kind, row.period_start, row.period_end, len(row.content), row.sha256,
                      row.generated_by, row.generated_at)


def make_report(uow: UnitOfWork, *, actor: str, period_code: str, replace: bool = False,
                today: dt.date | None = None) -> ReportInfo:
    """Build and store a period's workbook; an existing one is kept unless `replace`."""
    period = period_of(period_code, today=today)
    existing = uow.session.scalar(select(RecoveryReport).where(RecoveryReport.period == period.code)
                                  .with_for_update())
    if existing is not None and not replace:
        return _info(existing)
    content = build_workbook(uow, period=period, generated=today or business_date())
    digest = hashlib.sha256(content).hexdigest()
    row = existing or RecoveryReport(period=period.code, kind=period.kind, period_start=period.start,
                                     period_end=period.end)
    row.content, row.sha256, row.generated_by, row.generated_at = content, digest, actor, utcnow()
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=actor, action="recycling.report_made", entity_type="recovery_report", entity_id=row.id,
                 after={"period": period.code, "sha256": digest, "replaced": existing is not None})
    return _info(row)


def make_due_reports(uow: UnitOfWork, *, actor: str, today: dt.date | None = None) -> list[str]:
    """Make the most recently ended ten-day period's and month's reports if missing; return their codes."""
    day = today or business_date()
    return [make_report(uow, actor=actor, period_code=p.code, today=day).period for p in last_completed_periods(day)]


def request_report(uow: UnitOfWork, *, requested_by: str, period_code: str, replace: bool) -> int:
    """Queue a report build; return the job id to poll."""
    period = period_of(period_code)
    message = uow.enqueue(MAKE_JOB, period=period.code, replace=replace, requested_by=requested_by)
    uow.flush()
    return message.id


def list_reports(uow: UnitOfWork, *, kind: str | None = None, limit: int = 100, offset: int = 0) -> list[ReportInfo]:
    """List stored reports, newest period first."""
    stmt = (select(RecoveryReport).order_by(RecoveryReport.period_end.desc(), RecoveryReport.id.desc())
            .offset(offset).limit(limit))
    if kind:
        stmt = stmt.where(RecoveryReport.kind == kind)
    return [_info(r) for r in uow.session.scalars(stmt)]


def count_reports(uow: UnitOfWork, *, kind: str | None = None) -> int:
    """Return how many reports are stored (of a kind)."""
    stmt = select(func.count()).select_from(RecoveryReport)
    if kind:
        stmt = stmt.where(RecoveryReport.kind == kind)
    return int(uow.session.scalar(stmt) or 0)


def recent_periods(*, today: dt.date | None = None, dekads: int = 6, months: int = 3) -> list[Period]:
    """Return the most recently ended ten-day periods and months, newest first, to offer on the report form."""
    day = today or business_date()
    found: list[Period] = []
    cursor = dekad_of(day).start
    for _ in range(dekads):
        found.append(dekad_of(cursor - dt.timedelta(days=1)))
        cursor = found[-1].start
    month = day.replace(day=1)
    for _ in range(months):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        found.append(Period(month.year, month.month))
    return found


@dataclass(frozen=True)
class ReportJob:
    """A report build's job: its period, and the stored report once the job has made it."""

    job_id: int
    period: str
    report: ReportInfo | None
    done: bool


def report_job(uow: UnitOfWork, *, job_id: int, actor: str, sees_all: bool) -> ReportJob:
    """Return a report build the caller started (a city-level admin: any); 404 for another job or another's."""
    message = uow.session.get(OutboxMessage, job_id)
    if message is None or message.job != MAKE_JOB or not (sees_all or message.payload.get("requested_by") == actor):
        raise NotFound("没有这项报表生成任务 / no such report job", reason="report.no_job")
    period = str(message.payload.get("period", ""))
    row = uow.session.scalar(select(RecoveryReport).where(RecoveryReport.period == period))
    done = message.done_at is not None
    return ReportJob(job_id, period, _info(row) if row is not None and done else None, done)


def report_content(uow: UnitOfWork, *, report_id: int) -> tuple[ReportInfo, bytes]:
    """Return a stored report and its bytes."""
    row = uow.session.get(RecoveryReport, report_id)
    if row is None:
        raise NotFound("报表不存在 / report not found", reason="report.not_found")
    return _info(row), row.content
