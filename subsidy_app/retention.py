"""Upload retention: the daily job (and `lvliang uploads purge`) dropping uploaded files kept past their period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import utcnow
from subsidy_app.core.jobs import job
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.uploads import DEFAULT_RETENTION_DAYS, purge_finished

PURGE_JOB = "uploads.purge_expired"
ACTOR = "system:retention"


def purge_expired_uploads(uow: UnitOfWork, *, retention_days: int, now: dt.datetime | None = None,
                          actor: str = ACTOR) -> dict[str, int]:
    """Drop the bytes of uploads whose job finished more than `retention_days` ago; return counts per table."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    purged = purge_finished(uow.session, finished_before=cutoff)
    if any(purged.values()):
        audit.record(uow, actor=actor, action="uploads.purged", entity_type="upload_retention",
                     entity_id=business_date(cutoff).isoformat(),
                     after={"finished_before": cutoff.isoformat(), "retention_days": retention_days, **purged})
    return purged


@job(PURGE_JOB)
def purge_job(uow: UnitOfWork, *, retention_days: int = DEFAULT_RETENTION_DAYS, **_: Any) -> None:
    """Purge expired upload bytes (beat: daily, with UPLOAD_RETENTION_DAYS from the worker's settings)."""
    purge_expired_uploads(uow, retention_days=retention_days)
