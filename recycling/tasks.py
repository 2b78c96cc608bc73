"""Background jobs of the recycling package: bulk imports, reports, the daily overdue check."""

from __future__ import annotations

from typing import Any

import recycling.demo  # noqa: F401  (registers the demo data step)
from recycling import closed_loop, imports, reports
from subsidy_app.core.jobs import job, set_progress
from subsidy_app.core.uow import UnitOfWork

SYSTEM = "system:recycling"


@job(imports.IMPORT_JOB)
def import_intake(uow: UnitOfWork, *, import_id: int, requested_by: str, **_: Any) -> None:
    """Run a queued bulk intake import, reporting progress."""
    imports.run_import(uow, actor=requested_by, import_id=import_id,
                       progress=lambda done, total: set_progress(uow, done, total))


@job(reports.MAKE_JOB)
def make_report(uow: UnitOfWork, *, period: str, replace: bool = False, requested_by: str = SYSTEM, **_: Any
                ) -> None:
    """Build and store one period's workbook."""
    reports.make_report(uow, actor=requested_by, period_code=period, replace=replace)


@job("recycling.make_due_reports")
def make_due_reports(uow: UnitOfWork, **_: Any) -> None:
    """Make the ten-day and monthly reports that have just become due (beat: daily)."""
    reports.make_due_reports(uow, actor=SYSTEM)


@job("recycling.flag_overdue")
def flag_overdue(uow: UnitOfWork, **_: Any) -> None:
    """Flag trade-ins whose old item is overdue and notify the county bureaus (beat: daily)."""
    closed_loop.flag_overdue(uow, actor=SYSTEM)
