"""Oversight API for review deadlines and review times: overdue applications per reviewer and county, and the
weekly median and 90th percentile of review time per county."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.applications import review_times
from subsidy_app.bodies import Blueprint
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import COUNTIES, Role
from subsidy_app.oversight import review_input
from subsidy_app.oversight import review_schemas as s

blp = Blueprint("oversight_reviews", __name__, url_prefix="/api/v1/oversight",
                description="审核时限与审核用时 / review deadlines and review times")
READERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.BUREAU_LEADER)
MEASURED = ("从申请首次进入待审核(pending_review)到首个审核决定(通过、驳回或退回补正)的时长,按首个决定所在的"
            "ISO 周(北京时间)计;中位数与90分位按线性插值 / from the application's first arrival in pending_review "
            "to its first decision (approve, reject or return), in the ISO week (Beijing time) of that decision; "
            "median and p90 interpolate linearly, in hours")


def queue_url(group_by: str, group: review_times.OverdueGroup) -> str:
    """The work queue filtered to one group's overdue applications."""
    chosen = review_times.drill_down(group_by, group.key)
    args: dict[str, Any] = {"state": "all", "overdue": "1", "county": chosen.county, "assigned": chosen.assigned,
                            "assignee": chosen.assignee_id}
    return url_for("review_pages.queue", **{k: v for k, v in args.items() if v is not None})


@blp.route("/review-times")
class ReviewTimes(MethodView):
    """Review time statistics."""

    @access(*READERS)
    @blp.arguments(s.ReviewTimesQuery, location="query")
    @blp.response(200, s.ReviewTimesOut)
    def get(self, query: dict[str, Any]) -> Any:
        """Median and p90 review time (hours) per county per ISO week; a county outside your scope is 404."""
        principal = current_principal()
        counties = review_input.counties(principal, query["county"])
        date_from, date_to = review_input.days(query["from_"], query["to"])
        with uow() as tx:
            rows = review_times.review_times(tx, counties=counties, date_from=date_from, date_to=date_to,
                                             programme=review_input.programme(query))
        return {"date_from": date_from, "date_to": date_to, "measured": MEASURED,
                "rows": [{**vars(r), "county_name": COUNTIES.get(r.county_code or "", ""), "iso_week": r.iso_week}
                         for r in rows]}


@blp.route("/overdue-reviews")
class OverdueReviews(MethodView):
    """Applications past their review deadline."""

    @access(Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
    @blp.arguments(s.OverdueQuery, location="query")
    @blp.response(200, s.OverdueOut)
    def get(self, query: dict[str, Any]) -> Any:
        """Count overdue applications per reviewer (unassigned as its own row) and per county, with the oldest."""
        principal = current_principal()
        counties = review_input.counties(principal, query["county"])
        with uow() as tx:
            found = review_times.overdue_summary(tx, principal=principal, counties=counties,
                                                 deadlines=review_input.deadlines(tx, runtime()))
        return {"total": found.total,
                "by_reviewer": [{**vars(g), "queue_url": queue_url("reviewer", g)} for g in found.by_reviewer],
                "by_county": [{**vars(g), "queue_url": queue_url("county", g)} for g in found.by_county]}
