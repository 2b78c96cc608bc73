"""Audit API: read the trail and verify the chain."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.audit import readers, services
from subsidy_app.bodies import Blueprint
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="审计日志 / audit trail")


class EventQuery(ma.Schema):
    """Filters for the trail."""

    entity_type = ma.fields.String(load_default=None)
    entity_id = ma.fields.String(load_default=None)
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class EventOut(ma.Schema):
    """One audit event (personal data masked)."""

    seq = ma.fields.Integer(allow_none=True)  # empty until the sealer chains the event
    occurred_at = ma.fields.DateTime()
    actor = ma.fields.String()
    action = ma.fields.String()
    entity_type = ma.fields.String()
    entity_id = ma.fields.String()
    summary = ma.fields.Dict()
    hash = ma.fields.String(allow_none=True)


class VerifyOut(ma.Schema):
    """Result of walking the chain."""

    ok = ma.fields.Boolean()
    checked = ma.fields.Integer()
    broken_at = ma.fields.Integer(allow_none=True)
    problem = ma.fields.String(allow_none=True)


@blp.route("/events")
class Events(MethodView):
    """The audit trail."""

    @access(Role.ADMIN, Role.SENIOR_AUDITOR)
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, EventOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List the newest events, optionally for one entity (city-level staff only: events carry no county)."""
        readers.require_city_reader(current_principal())
        with uow() as tx:
            fields = ("seq", "occurred_at", "actor", "action", "entity_type", "entity_id", "summary", "hash")
            return [{f: getattr(e, f) for f in fields} for e in services.list_events(tx.session, **query)]


@blp.route("/verify")
class Verify(MethodView):
    """Chain verification."""

    @access(Role.ADMIN)
    @blp.response(200, VerifyOut)
    def get(self) -> Any:
        """Walk the keyed chain through every stored checkpoint and report the first broken link."""
        readers.require_city_reader(current_principal())
        with uow() as tx:
            checked, broken = services.verify_chain(tx.session)
        return {"ok": broken is None, "checked": checked, "broken_at": broken.seq if broken else None,
                "problem": broken.problem if broken else None}


class JobRef(ma.Schema):
    """A job accepted for background work; poll /api/v1/jobs/<id>."""

    job_id = ma.fields.Integer()
    status_url = ma.fields.String()


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    """Background verification of the chain."""

    @access(Role.ADMIN)
    @blp.response(202, JobRef)
    def post(self) -> Any:
        """Verify the chain in the background and record a checkpoint."""
        readers.require_city_reader(current_principal())
        with uow() as tx:
            message = services.request_checkpoint(tx, requested_by=current_principal().actor)
            tx.commit()
        return {"job_id": message, "status_url": f"/api/v1/jobs/{message}"}
