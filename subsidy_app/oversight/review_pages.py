"""The oversight page of review deadlines: overdue applications per reviewer and per county, each row leading
to the work queue filtered to it."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.applications import review_times
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import COUNTIES, Role
from subsidy_app.oversight import review_input
from subsidy_app.oversight.review_api import queue_url

bp = Blueprint("oversight_review_pages", __name__, template_folder="templates")
PAGE_ROLES = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)  # those the work queue it leads to admits


@bp.route("/oversight/review-deadlines")
@access(*PAGE_ROLES)
def overdue() -> ResponseReturnValue:
    """Overdue applications per reviewer and per county, the largest group first, with the oldest of each."""
    principal = current_principal()
    shown = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    county = (request.args.get("county") or "").strip() or None
    counties = review_input.counties(principal, county)  # a county outside the caller's scope: 404
    with uow() as tx:
        deadlines = review_input.deadlines(tx, runtime())
        found = review_times.overdue_summary(tx, principal=principal, counties=counties, deadlines=deadlines)
    return render_template("oversight/review_deadlines.html", found=found, counties=shown, county=county or "",
                           deadlines=deadlines, queue_url=queue_url)
