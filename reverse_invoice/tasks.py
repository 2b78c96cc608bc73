"""Reverse-invoicing jobs: the monthly filing on the 1st and the daily suspension check."""

from __future__ import annotations

import datetime as dt

import reverse_invoice.demo  # noqa: F401  (registers the demo step)
from reverse_invoice import filing, recyclers
from subsidy_app.core.jobs import job, set_progress
from subsidy_app.core.uow import UnitOfWork

PREPARE_FILINGS = "reverse_invoice.prepare_filings"
CHECK_SUSPENSIONS = "reverse_invoice.check_suspensions"


@job(PREPARE_FILINGS)
def prepare_filings(uow: UnitOfWork, month: str | None = None, requested_by: str = "system") -> None:
    """Prepare every recycler's filing for `month` (default: last month)."""
    target = dt.date.fromisoformat(month) if month else None
    filing.prepare_all_filings(uow, actor=requested_by, month=target,
                               progress=lambda done, total: set_progress(uow, done, total))


@job(CHECK_SUSPENSIONS)
def check_suspensions(uow: UnitOfWork, requested_by: str = "system") -> None:
    """Suspend recyclers with overdue filings and reinstate those who paid."""
    recyclers.check_all_suspensions(uow, actor=requested_by)
