"""Spot-check API: the city bureau's plans and draws, county auditors' results, conclusions and rollups."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.bodies import Blueprint
from subsidy_app.http import answer, runtime, uow
from subsidy_app.identity.domain import Role
from subsidy_app.oversight import spot_queries, spot_services
from subsidy_app.oversight import spot_schemas as s

blp = Blueprint("spot_checks", __name__, url_prefix="/api/v1/oversight",
                description="抽查核验与电话回访 / spot checks and call-backs")
STAFF = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
PLANNERS = (Role.SENIOR_AUDITOR, Role.ADMIN)  # of the city bureau: the service checks the city scope
_PLAN_OUT, _DRAW_OUT, _TASK_OUT, _CONCLUDED_OUT = s.PlanOut(), s.DrawOut(), s.TaskOut(), s.ConcludedOut()


@blp.route("/spot-checks")
class Plans(MethodView):
    """Sampling plans."""

    @access(*STAFF)
    @blp.arguments(s.PageQuery, location="query")
    @blp.response(200, s.PlanPage)
    def get(self, query: dict[str, Any]) -> Any:
        """List sampling plans, newest first."""
        with uow() as tx:
            plans, total = spot_queries.list_plans(tx, **query)
        return {"plans": plans, "total": total}

    @access(*PLANNERS)
    @blp.arguments(s.PlanIn)
    @blp.response(201, s.PlanOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a draft plan for a programme and period at a rate (city bureau only); audited."""
        with uow() as tx:
            plan_id = spot_services.create_plan(tx, principal=current_principal(), **data)
            response = answer(_PLAN_OUT, spot_queries.get_plan(tx, plan_id=plan_id), 201)
            tx.commit()
        return response


@blp.route("/spot-checks/<int:plan_id>")
class PlanItem(MethodView):
    """One plan."""

    @access(*STAFF)
    @blp.response(200, s.PlanOut)
    def get(self, plan_id: int) -> Any:
        """Show a plan with its seed and counts once drawn."""
        with uow() as tx:
            return spot_queries.get_plan(tx, plan_id=plan_id)


@blp.route("/spot-checks/<int:plan_id>/draw")
class PlanDraw(MethodView):
    """The draw."""

    @access(*PLANNERS)
    @blp.arguments(s.DrawIn)
    @blp.response(200, s.DrawOut)
    def post(self, data: dict[str, Any], plan_id: int) -> Any:
        """Draw the sample once (stratified by county and dealer, plus every flagged trade-in); seed recorded."""
        with uow() as tx:
            drawn = spot_services.draw_plan(tx, principal=current_principal(), plan_id=plan_id, seed=data["seed"])
            response = answer(_DRAW_OUT, drawn)
            tx.commit()
        return response


@blp.route("/spot-checks/<int:plan_id>/items")
class PlanItems(MethodView):
    """A plan's sampled items."""

    @access(*STAFF)
    @blp.arguments(s.ItemQuery, location="query")
    @blp.response(200, s.ItemPage)
    def get(self, query: dict[str, Any], plan_id: int) -> Any:
        """List the plan's items in the caller's counties (filters: county, dealer, state, reason; paginated)."""
        with uow() as tx:
            spot_queries.get_plan(tx, plan_id=plan_id)
            items, total = spot_queries.list_items(
                tx, principal=current_principal(), plan_id=plan_id, county_code=query["county"],
                dealer_org_id=query["dealer"], state=query["state"], reason=query["reason"], limit=query["limit"],
                offset=query["offset"])
        return {"items": items, "total": total}


@blp.route("/spot-checks/<int:plan_id>/rollup")
class PlanRollup(MethodView):
    """A plan's figures."""

    @access(*STAFF)
    @blp.response(200, s.RollupOut)
    def get(self, plan_id: int) -> Any:
        """Per dealer and county: population, sampled and its rate, concluded, confirmed and its rate, false, clawed
        back (the caller's counties only)."""
        with uow() as tx:
            return spot_queries.rollup(tx, principal=current_principal(), plan_id=plan_id)


@blp.route("/spot-check-items/<int:item_id>/results")
class ItemResults(MethodView):
    """A task's attempts and results."""

    @access(*STAFF)
    @blp.arguments(s.ResultIn)
    @blp.response(200, s.TaskOut)
    def post(self, data: dict[str, Any], item_id: int) -> Any:
        """Record a call-back, document or site-visit result of an item in the caller's county; audited."""
        with uow() as tx:
            done = spot_services.record_result(tx, principal=current_principal(), item_id=item_id,
                                               attempts_allowed=runtime().settings.spot_check_call_attempts, **data)
            response = answer(_TASK_OUT, done)
            tx.commit()
        return response


@blp.route("/spot-check-items/<int:item_id>/conclusion")
class ItemConclusion(MethodView):
    """An item's conclusion."""

    @access(*STAFF)
    @blp.arguments(s.ConcludeIn)
    @blp.response(200, s.ConcludedOut)
    def post(self, data: dict[str, Any], item_id: int) -> Any:
        """Conclude an item once: genuine, or false (senior auditor or admin) revoking the trade-in with a clawback."""
        with uow() as tx:
            done = spot_services.conclude(tx, principal=current_principal(), item_id=item_id, **data)
            response = answer(_CONCLUDED_OUT, done)
            tx.commit()
        return response
