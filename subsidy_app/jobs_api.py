"""Job status API: long work reports progress that the UI polls."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from subsidy_app.access import access, current_principal, raise_not_in_scope
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.http import uow
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal, Role

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="后台任务 / background jobs")


class JobOut(ma.Schema):
    """A job's state and progress."""

    id = ma.fields.Integer()
    job = ma.fields.String()
    state = ma.fields.String(metadata={"description": "queued, running, done or failed"})
    progress = ma.fields.Dict(allow_none=True)
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    done_at = ma.fields.DateTime(allow_none=True)


def job_state(message: OutboxMessage, progress: dict[str, Any] | None) -> str:
    """Name the state a user sees."""
    if message.done_at:
        return "done"
    if message.failed_at:
        return "failed"
    return "running" if progress else "queued"


def may_see_job(principal: Principal, message: OutboxMessage) -> bool:
    """Tell whether the caller may see a job: the one who started it, or a city-level admin."""
    return message.payload.get("requested_by") == principal.actor or (
        Role.ADMIN in principal.roles and visibility.sees_every_county(principal))


@blp.route("/<int:job_id>")
class JobItem(MethodView):
    """One background job."""

    @access(*tuple(Role))
    @blp.response(200, JobOut)
    def get(self, job_id: int) -> Any:
        """Poll a job you started (city-level admins see all)."""
        principal = current_principal()
        with uow() as tx:
            message = tx.session.get(OutboxMessage, job_id)
            if message is None or not may_see_job(principal, message):
                raise_not_in_scope()
            assert message is not None
            progress = tx.session.scalar(select(JobProgress.progress).where(JobProgress.message_id == job_id))
            return {"id": message.id, "job": message.job, "state": job_state(message, progress), "progress": progress,
                    "error": message.last_error if message.failed_at else None,
                    "created_at": message.created_at, "done_at": message.done_at}
