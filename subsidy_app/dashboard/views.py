"""The dashboard page and the exports of its panels; city-wide for city roles, a county's own for county roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.dashboard import exports, panels
from subsidy_app.http import uow
from subsidy_app.identity.domain import COUNTIES, Role

bp = Blueprint("dashboard_pages", __name__, template_folder="templates")
VIEWERS = (Role.BUREAU_LEADER, Role.ADMIN, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER)
DATE_LABELS = {"date_from": "开始日期", "date_to": "结束日期"}
MAX_DAYS = 731  # two years of days is what the trend chart can still show legibly


def _day(args: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.field(name, f"{DATE_LABELS[name]}格式应为 YYYY-MM-DD,例如 2026-01-31 / "
                                           f"{name} must be YYYY-MM-DD") from None


def _scope(args: Mapping[str, str]) -> panels.Scope:
    today = business_date()
    date_to = _day(args, "date_to", today)
    date_from = _day(args, "date_from", date_to.replace(month=1, day=1))
    if date_from > date_to:
        raise ValidationFailed.field("date_from", "开始日期不能晚于结束日期 / date_from is after date_to")
    if (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed.field("date_from", "日期范围最长两年 / the range is at most two years")
    county = (args.get("county") or "").strip() or None
    principal = current_principal()
    if county is not None and not (county in COUNTIES and principal.covers_county(county)):
        raise ValidationFailed.field("county", "不在您的管辖范围内的县(市、区)/ county outside your scope")
    return panels.scope_for(principal, date_from=date_from, date_to=date_to, county=county)


@bp.route("/staff/dashboard")
@access(*VIEWERS)
def dashboard() -> ResponseReturnValue:
    """Draw every panel for the chosen days and county, each chart with its table and its exports."""
    principal = current_principal()
    counties = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    try:
        scope = _scope(request.args)
    except ValidationFailed as exc:
        return render_template("dashboard/dashboard.html", panels=[], charts={}, errors=exc.errors,
                               counties=counties, args=request.args, scope=None), 422
    with uow() as tx:
        shown = panels.build(tx, scope)
    return render_template("dashboard/dashboard.html", panels=shown, errors={}, counties=counties,
                           charts={p.key: panels.chart_data(p) for p in shown}, args=request.args, scope=scope,
                           as_text=panels.as_text)


@bp.route("/staff/dashboard/<key>.<any(csv, xlsx):kind>")
@access(*VIEWERS)
def export(key: str, kind: str) -> ResponseReturnValue:
    """Download exactly the figures a panel draws, for the same days and county."""
    scope = _scope(request.args)
    with uow() as tx:
        panel = panels.panel_named(tx, scope, key)
    body, mimetype = ((exports.panel_csv(panel), exports.CSV_TYPE) if kind == "csv"
                      else (exports.panel_xlsx(panel), exports.XLSX_TYPE))
    name = f"dashboard-{key}-{scope.date_from}-{scope.date_to}.{kind}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
