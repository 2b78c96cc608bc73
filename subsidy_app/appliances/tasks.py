"""Appliance jobs: large bulk sales files; the demo step and the application kinds register from here."""

from __future__ import annotations

from typing import Any

import subsidy_app.appliances.claims
import subsidy_app.appliances.demo
import subsidy_app.appliances.settlement  # noqa: F401 - registers the demo step and the kinds of application
from subsidy_app.appliances import bulk
from subsidy_app.core.jobs import job
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.rules.services import version_cache


@job(bulk.JOB)
def process_bulk(uow: UnitOfWork, upload_id: int, account_id: int, requested_by: str,
                 limits: dict[str, str] | None = None, **_: Any) -> None:
    """Process a large bulk sales file in chunks, reporting progress; a rerun resumes after the last chunk."""
    principal = load_principal(uow, account_id=account_id)
    if principal is None:
        return
    bulk.process(uow, upload_id=upload_id, principal=principal, versions=version_cache().versions(uow),
                 limits=bulk.limits_from_payload(limits))
