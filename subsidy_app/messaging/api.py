"""Messaging API: the local SMS outbox for administrators."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from subsidy_app.access import access
from subsidy_app.bodies import Blueprint
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role
from subsidy_app.messaging import services

blp = Blueprint("messaging", __name__, url_prefix="/api/v1/sms", description="短信发件箱 / SMS outbox")


class OutboxQuery(ma.Schema):
    """Filters for the outbox."""

    phone = ma.fields.String(load_default=None)
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


class SmsOut(ma.Schema):
    """One message (phone masked)."""

    id = ma.fields.Integer()
    phone = ma.fields.String()
    purpose = ma.fields.String()
    text = ma.fields.String()
    created_at = ma.fields.DateTime()


@blp.route("/outbox")
class Outbox(MethodView):
    """The local gateway's outbox."""

    @access(Role.ADMIN)
    @blp.arguments(OutboxQuery, location="query")
    @blp.response(200, SmsOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List sent messages, newest first."""
        with uow() as tx:
            return services.list_outbox(tx, **query)
