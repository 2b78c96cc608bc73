"""Recovery API: used-car transfers, the closed loop, baselines, progress series, dashboards and reports."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response
from flask.views import MethodView

from recycling import closed_loop, reports, rollups, targets, used_cars
from recycling import schemas_recovery as s
from recycling.domain import Indicator
from recycling.schemas import IndicatorQuery
from subsidy_app.access import access, current_principal, require_county
from subsidy_app.bodies import Blueprint
from subsidy_app.core.clock import business_date
from subsidy_app.http import uow
from subsidy_app.identity.domain import COUNTIES, Role

blp = Blueprint("recovery", __name__, url_prefix="/api/v1/recovery",
                description="回收量、二手车交易、以旧换新闭环、目标进度与旬报月报 / recovery volumes and reports")
# The bureau leader reads these figures for the dashboard.
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.BUREAU_LEADER)
DEALER = Role.DEALER_CLERK


def scope(county_code: str | None) -> list[str]:
    """Return the counties a query covers: one the caller may see, or all of the caller's."""
    principal = current_principal()
    if county_code:
        require_county(principal, county_code)
        return [county_code]
    return list(COUNTIES) if principal.all_counties else sorted(principal.counties)


@blp.route("/used-car-transactions")
class UsedCars(MethodView):
    """Used-car transfers (for the +45% indicator)."""

    @access(DEALER)
    @blp.arguments(s.UsedCarIn)
    @blp.response(201, s.UsedCarOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a transfer; a VIN transfer reported twice is counted once."""
        principal = current_principal()
        with uow() as tx:
            outcome = used_cars.register_used_car_transfer(tx, actor=principal.actor,
                                                           reporter_org_id=principal.organisation_id or 0, **data)
            tx.commit()
        return outcome


@blp.route("/hand-ins")
class HandIns(MethodView):
    """Trade-ins whose old item must be handed in."""

    @access(DEALER, *BUREAU)
    @blp.arguments(s.ObligationQuery, location="query")
    @blp.response(200, s.ObligationOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List obligations (dealers see their own, bureaus their counties)."""
        with uow() as tx:
            return closed_loop.list_obligations(tx, principal=current_principal(), status=query["status"])


@blp.route("/hand-ins/<trade_in_ref>/pickup")
class HandInPickup(MethodView):
    """The dealer's pickup of the old item (送新收旧)."""

    @access(DEALER)
    @blp.arguments(s.PickupIn)
    @blp.response(200, s.PickupOut)
    def post(self, data: dict[str, Any], trade_in_ref: str) -> Any:
        """Record the pickup; naming a site also records that site's intake and closes the loop."""
        principal = current_principal()
        with uow() as tx:
            outcome = used_cars.record_dealer_pickup(tx, actor=principal.actor,
                                                     dealer_org_id=principal.organisation_id,
                                                     trade_in_ref=trade_in_ref, **data)
            tx.commit()
        return outcome


@blp.route("/hand-ins/closure")
class HandInClosure(MethodView):
    """Closure rate per dealer or county."""

    @access(*BUREAU)
    @blp.arguments(s.ClosureQuery, location="query")
    @blp.response(200, s.ClosureOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """Report how many trade-ins' old items reached a recycler, and on time."""
        with uow() as tx:
            return closed_loop.closure_report(tx, counties=frozenset(scope(None)), **query)


@blp.route("/settings/hand-in-days")
class HandInDays(MethodView):
    """The configurable hand-in deadline."""

    @access(Role.ADMIN)
    @blp.arguments(s.HandInDaysIn)
    @blp.response(200, s.HandInDaysIn)
    def put(self, data: dict[str, Any]) -> Any:
        """Set the number of days to hand in an old item of a kind."""
        with uow() as tx:
            closed_loop.set_hand_in_days(tx, actor=current_principal().actor, **data)
            tx.commit()
        return data


@blp.route("/baselines")
class Baselines(MethodView):
    """2023 baselines and the plan's targets."""

    @access(Role.ADMIN)
    @blp.response(201, s.LoadedOut)
    def post(self) -> Any:
        """Load the shipped baseline and target files."""
        with uow() as tx:
            baselines, loaded = targets.load_shipped(tx, actor=current_principal().actor)
            tx.commit()
        return {"baselines": baselines, "targets": loaded}


@blp.route("/progress")
class ProgressView(MethodView):
    """An indicator against the straight-line path to 2027."""

    @access(*BUREAU)
    @blp.arguments(IndicatorQuery, location="query")
    @blp.response(200, s.ProgressOut)
    def get(self, query: dict[str, Any]) -> Any:
        """Show year to date, the expected figure, progress and the 2027 forecast."""
        with uow() as tx:
            return targets.progress(tx, indicator=Indicator(query["indicator"]),
                                    as_of=query["as_of"] or business_date(), counties=scope(query["county_code"]))


@blp.route("/series")
class SeriesView(MethodView):
    """An indicator's monthly time series."""

    @access(*BUREAU)
    @blp.arguments(IndicatorQuery, location="query")
    @blp.response(200, s.SeriesOut)
    def get(self, query: dict[str, Any]) -> Any:
        """Return the year month by month: actual, cumulative and the path's expected cumulative."""
        year = query["year"] or business_date().year
        counties = scope(query["county_code"])
        with uow() as tx:
            points = targets.monthly_series(tx, indicator=Indicator(query["indicator"]), year=year,
                                            counties=counties)
        return {"indicator": query["indicator"].value, "year": year, "counties": counties,
                "points": [asdict(p) for p in points]}


@blp.route("/volumes")
class Volumes(MethodView):
    """The dashboard grid: a year by county × category × month (reads rollups only)."""

    @access(*BUREAU)
    @blp.arguments(s.VolumeQuery, location="query")
    @blp.response(200, s.VolumeOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """Return the year's volumes per county, category and month."""
        with uow() as tx:
            rows = rollups.year_by_month(tx, year=query["year"], counties=scope(query["county_code"]))
        return [{"county_code": c, "category": k, "month": m, "units": u, "weight_kg": w} for c, k, m, u, w in rows]


def _report_out(info: reports.ReportInfo) -> dict[str, Any]:
    return {**asdict(info), "download_url": f"/api/v1/recovery/reports/{info.id}/download"}


@blp.route("/reports")
class Reports(MethodView):
    """Ten-day and monthly reports."""

    @access(*BUREAU)
    @blp.arguments(s.ReportQuery, location="query")
    @blp.response(200, s.ReportOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List stored reports, newest first."""
        with uow() as tx:
            return [_report_out(r) for r in reports.list_reports(tx, kind=query["kind"])]

    @access(Role.ADMIN, Role.SENIOR_AUDITOR)
    @blp.arguments(s.ReportIn)
    @blp.response(202, s.ReportJobRef)
    def post(self, data: dict[str, Any]) -> Any:
        """Make any past period's report in the background."""
        with uow() as tx:
            job_id = reports.request_report(tx, requested_by=current_principal().actor, period_code=data["period"],
                                            replace=data["replace"])
            tx.commit()
        return {"job_id": job_id, "status_url": f"/api/v1/jobs/{job_id}"}


@blp.route("/reports/<int:report_id>/download")
class ReportDownload(MethodView):
    """A stored report's workbook."""

    @access(*BUREAU)
    @blp.response(200, content_type=reports.XLSX_TYPE)
    def get(self, report_id: int) -> Any:
        """Download the XLSX workbook."""
        with uow() as tx:
            info, content = reports.report_content(tx, report_id=report_id)
        return Response(content, mimetype=reports.XLSX_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{info.filename}"'})

