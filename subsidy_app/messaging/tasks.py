"""Messaging jobs: send a queued SMS exactly once."""

from __future__ import annotations

from typing import Any

from subsidy_app.core.jobs import job
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.messaging import services


@job(services.SEND_JOB)
def send_sms(uow: UnitOfWork, **payload: Any) -> None:
    """Send one queued text through the configured gateway."""
    services.send_queued(uow, phone_enc=payload["phone_enc"], text=payload["text"], purpose=payload["purpose"],
                         text_enc=payload.get("text_enc"))
