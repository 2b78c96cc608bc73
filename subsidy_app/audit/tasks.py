"""Audit jobs."""

from __future__ import annotations

from subsidy_app.audit import services
from subsidy_app.core.jobs import job
from subsidy_app.core.uow import UnitOfWork


@job("audit.checkpoint")
def audit_checkpoint(uow: UnitOfWork, requested_by: str = "system") -> None:
    """Verify the audit chain and record a checkpoint."""
    services.write_checkpoint(uow)
