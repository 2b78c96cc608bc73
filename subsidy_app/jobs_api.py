"""Job status API: long work reports progress that the UI polls."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from subsidy_app.access import access, current_principal, raise_not_in_scope
from subsidy_app.bodies import Blueprint
from subsidy_app.core.db import utcnow
from subsidy_app.core.job_runs import STATE_LABELS, job_state
from subsidy_app.core.outbox import JobProgress, OutboxMessage
from subsidy_app.http import runtime, uow
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal, Role

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="后台任务 / background jobs")


class JobOut(ma.Schema):
    """A job's state and progress."""

    id = ma.fields.Integer()
    job = ma.fields.String()
    state = ma.fields.String(metadata={"description": "queued, running, stalled (its worker stopped beating; it "
                                                      "will run again), done or failed"})
    state_label = ma.fields.String(metadata={"description": "the state in words, Chinese / English"})
    progress = ma.fields.Dict(allow_none=True)
    heartbeat_at = ma.fields.DateTime(allow_none=True, metadata={"description": "the running job's last sign of life"})
    runs = ma.fields.Integer(metadata={"description": "how many times a worker started it (more after a restart)"})
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    done_at = ma.fields.DateTime(allow_none=True)


def may_see_job(principal: Principal, message: OutboxMessage) -> bool:
    """Tell whether the caller may see a job: the one who started it, a colleague of the organisation the job
    works for (`visible_to_org`, e.g. a dealer's bulk upload), or a city-level admin."""
    org = message.payload.get("visible_to_org")
    return message.payload.get("requested_by") == principal.actor or (
        org is not None and principal.organisation_id is not None and org == principal.organisation_id) or (
        Role.ADMIN in principal.roles and visibility.sees_every_county(principal))


@blp.route("/<int:job_id>")
class JobItem(MethodView):
    """One background job."""

    @access(*tuple(Role))
    @blp.response(200, JobOut)
    def get(self, job_id: int) -> Any:
        """Poll a job you or your organisation started (city-level admins see all)."""
        principal = current_principal()
        stall_after = runtime().job_timing.stall_after
        with uow() as tx:
            message = tx.session.get(OutboxMessage, job_id)
            if message is None or not may_see_job(principal, message):
                raise_not_in_scope()
            assert message is not None
            run = tx.session.get(JobProgress, job_id)
            state = job_state(message, run, now=utcnow(), stall_after=stall_after)
            return {"id": message.id, "job": message.job, "state": state, "state_label": STATE_LABELS[state],
                    "progress": run.progress if run else None, "heartbeat_at": run.heartbeat_at if run else None,
                    "runs": run.runs if run else 0, "error": message.last_error if message.failed_at else None,
                    "created_at": message.created_at, "done_at": message.done_at}
