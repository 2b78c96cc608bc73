"""Staff page showing the local SMS outbox (one-time codes appear here in the demo)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from subsidy_app.access import access
from subsidy_app.http import runtime
from subsidy_app.identity.domain import Role
from subsidy_app.messaging import services
from subsidy_app.messaging.domain import sms_purpose_label

bp = Blueprint("messaging_views", __name__, template_folder="templates")


@bp.route("/staff/sms")
@access(Role.ADMIN)
def outbox() -> ResponseReturnValue:
    """Show the newest messages the local gateway recorded."""
    with runtime().unit_of_work() as tx:
        messages = services.list_outbox(tx, limit=100)
    return render_template("messaging/sms_outbox.html", messages=messages, purpose_label=sms_purpose_label)
