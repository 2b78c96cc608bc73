"""Job status API: long work reports progress that the UI polls."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select

from subsidy_app.access import access, current_principal, raise_not_in_scope
from subsidy_app.bodies import Blueprint
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role

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


@blp.route("/<int:job_id>")
class JobItem(MethodView):
    """One background job."""

    @access(*tuple(Role))
    @blp.response(200, JobOut)
    def get(self, job_id: int) -> Any:
        """Poll a job you started (admins see all)."""
        principal = current_principal()
        with uow() as tx:
            message = tx.session.get(OutboxMessage, job_id)
            if message is None or (message.payload.get("requested_by") != principal.actor
                                   and Role.ADMIN not in principal.roles):
                raise_not_in_scope()
            assert message is not None
            progress = tx.session.scalar(select(JobProgress.progress).where(JobProgress.message_id == job_id))
            return {"id": message.id, "job": message.job, "state": job_state(message, progress), "progress": progress,
                    "error": message.last_error if message.failed_at else None,
                    "created_at": message.created_at, "done_at": message.done_at}
