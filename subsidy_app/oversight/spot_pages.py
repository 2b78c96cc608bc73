"""The spot-check pages: the city bureau's plans and draws, a plan's items and rollup, an item's tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from recycling.paging import page_number
from subsidy_app.access import access, current_principal
from subsidy_app.applications import form_input as f
from subsidy_app.core.errors import DomainError, FieldErrors
from subsidy_app.core.limits import MAX_ID
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import runtime, uow
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import COUNTIES, Role, actor_label
from subsidy_app.oversight import spot_queries, spot_services
from subsidy_app.oversight.spot_domain import (
    ITEM_STATE_ZH,
    OUTCOME_ZH,
    OUTCOMES,
    PLAN_STATE_ZH,
    REASON_ZH,
    SUBJECT_ZH,
    TASK_ZH,
    ItemState,
    Reason,
    TaskKind,
)
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

bp = Blueprint("spot_pages", __name__, template_folder="templates")
STAFF = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
PLANNERS = (Role.SENIOR_AUDITOR, Role.ADMIN)
PAGE_SIZE = 50
PLAN_LABELS = {"programme": "补贴项目", "period_start": "开始日期", "period_end": "结束日期",
               "rate_percent": "抽样比例", "note": "说明"}
DRAW_LABELS = {"seed": "随机种子"}
RESULT_LABELS = {"task": "核查任务", "outcome": "结果", "note": "说明"}
CONCLUDE_LABELS = {"conclusion": "结论", "reason": "原因"}
NAMES = {"plan_states": PLAN_STATE_ZH, "item_states": ITEM_STATE_ZH, "reasons": REASON_ZH, "tasks": TASK_ZH,
         "outcome_zh": OUTCOME_ZH, "subjects": SUBJECT_ZH, "programmes": PROGRAMME_LABELS_ZH, "counties": COUNTIES,
         "actor_label": actor_label}


def _text(name: str, max_length: int = 100, multiline: bool = False) -> str:
    return f.text(request.form, name, max_length=max_length, multiline=multiline)


def _is_planner() -> bool:
    principal = current_principal()
    return principal.has_any(frozenset(PLANNERS)) and visibility.sees_every_county(principal)


def _plans_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    page = page_number(request.args.get("page"))
    with uow() as tx:
        plans, total = spot_queries.list_plans(tx, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("oversight/spot_plans.html", plans=plans, total=total, page=page, size=PAGE_SIZE,
                           error=error, labels=PLAN_LABELS, form=request.form, planner=_is_planner(), **NAMES), status


@bp.route("/bureau/spot-checks")
@access(*STAFF)
def plans() -> ResponseReturnValue:
    """List sampling plans; the city bureau also sees the form to make one."""
    return _plans_page()


@bp.route("/bureau/spot-checks", methods=["POST"])
@access(*PLANNERS)
def create() -> ResponseReturnValue:
    """Create a draft sampling plan (city bureau); audited."""
    try:
        read = FieldErrors()
        values: dict[str, Any] = {
            "programme": read.value(lambda: _text("programme", 30), ""),
            "period_start": read.value(lambda: f.date(request.form, "period_start"), dt.date.min),
            "period_end": read.value(lambda: f.date(request.form, "period_end"), dt.date.max),
            "rate_percent": read.value(lambda: _text("rate_percent", 10), "0"),
            "note": read.value(lambda: _text("note", 300), "")}
        read.raise_any()
        with uow() as tx:
            plan_id = spot_services.create_plan(tx, principal=current_principal(), **values)
            tx.commit()
    except DomainError as exc:
        return _plans_page(for_staff(exc, labels=PLAN_LABELS), exc.status)
    flash("抽查计划已创建(已记入审计记录),请抽取样本。", "ok")
    return redirect(url_for("spot_pages.plan", plan_id=plan_id))


def _filters() -> dict[str, Any]:
    county = request.args.get("county") if request.args.get("county") in COUNTIES else None
    state = request.args.get("state") if request.args.get("state") in {s.value for s in ItemState} else None
    reason = request.args.get("reason") if request.args.get("reason") in {r.value for r in Reason} else None
    raw = request.args.get("dealer", "")
    dealer = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None
    return {"county_code": county, "state": state, "reason": reason, "dealer_org_id": dealer}


def _plan_page(plan_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    page = page_number(request.args.get("page"))
    chosen = _filters()
    with uow() as tx:
        plan = spot_queries.get_plan(tx, plan_id=plan_id)
        items, total = spot_queries.list_items(tx, principal=principal, plan_id=plan_id, limit=PAGE_SIZE,
                                               offset=(page - 1) * PAGE_SIZE, **chosen)
        figures = spot_queries.rollup(tx, principal=principal, plan_id=plan_id)
    charts = {"dealers": _chart(figures.dealers), "counties": _chart(figures.counties)}
    args = {"county": chosen["county_code"], "state": chosen["state"], "reason": chosen["reason"],
            "dealer": chosen["dealer_org_id"]}
    return render_template("oversight/spot_plan.html", plan=plan, items=items, total=total, page=page,
                           size=PAGE_SIZE, rollup=figures, charts=charts, args=args,
                           dealers={r.key: r.label for r in figures.dealers if r.key != "0"},
                           error=error, labels=DRAW_LABELS, planner=_is_planner(),
                           whole_city=principal.all_counties, **NAMES), status


def _chart(rows: list[spot_queries.RollupRow]) -> dict[str, Any]:
    """The chart beside a rollup table: sampled, concluded genuine and false per row (the table's numbers)."""
    # In this order the dashboard palette shows false red, sampled blue and genuine green.
    return {"kind": "bar", "x": [r.label for r in rows], "series": [
        {"name": "不属实", "values": [r.false for r in rows]},
        {"name": "抽取", "values": [r.sampled for r in rows]},
        {"name": "属实", "values": [r.confirmed for r in rows]}]}


@bp.route("/bureau/spot-checks/<int:plan_id>")
@access(*STAFF)
def plan(plan_id: int) -> ResponseReturnValue:
    """Show a plan: its draw (seed and counts), its items in the caller's counties and the rollup."""
    return _plan_page(plan_id)


@bp.route("/bureau/spot-checks/<int:plan_id>/draw", methods=["POST"])
@access(*PLANNERS)
def draw(plan_id: int) -> ResponseReturnValue:
    """Draw the plan's sample once (a seed may be given to redo a recorded draw elsewhere); audited."""
    try:
        seed = _text("seed", 64) or None
        with uow() as tx:
            drawn = spot_services.draw_plan(tx, principal=current_principal(), plan_id=plan_id, seed=seed)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _plan_page(plan_id, for_staff(exc, labels=DRAW_LABELS), exc.status)
    flash(f"已抽样:总体 {drawn.population} 笔,抽取 {drawn.sampled} 笔,随机种子 {drawn.seed}(已记入审计记录)。", "ok")
    return redirect(url_for("spot_pages.plan", plan_id=plan_id))


def _item_page(item_id: int, error: PageError | None = None, status: int = 200,
               labels: dict[str, str] | None = None) -> ResponseReturnValue:
    principal = current_principal()
    with uow() as tx:
        item = spot_queries.item_detail(tx, principal=principal, item_id=item_id)
    return render_template("oversight/spot_item.html", item=item, error=error, labels=labels or RESULT_LABELS,
                           outcomes={k.value: v for k, v in OUTCOMES.items()}, form=request.form,
                           decider=principal.has_any(spot_services.DECIDERS),
                           attempts_allowed=runtime().settings.spot_check_call_attempts, **NAMES), status


@bp.route("/bureau/spot-checks/items/<int:item_id>")
@access(*STAFF)
def item(item_id: int) -> ResponseReturnValue:
    """Show a sampled item: the trade-in (resident masked), its tasks with every result, and the forms."""
    return _item_page(item_id)


@bp.route("/bureau/spot-checks/items/<int:item_id>/results", methods=["POST"])
@access(*STAFF)
def record(item_id: int) -> ResponseReturnValue:
    """Record one call, document re-check or site-visit result of an item in the caller's county; audited."""
    try:
        read = FieldErrors()
        values = {"task": read.value(lambda: _text("task", 20), ""),
                  "outcome": read.value(lambda: _text("outcome", 20), ""),
                  "note": read.value(lambda: _text("note", 500, multiline=True), "")}
        read.raise_any()
        with uow() as tx:
            done = spot_services.record_result(tx, principal=current_principal(), item_id=item_id,
                                               attempts_allowed=runtime().settings.spot_check_call_attempts,
                                               **values)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _item_page(item_id, for_staff(exc, labels=RESULT_LABELS), exc.status)
    shown = OUTCOME_ZH.get(done.outcome or "", "") if done.state == "done" else f"第 {done.attempts} 次未接通"
    flash(f"{TASK_ZH[TaskKind(done.kind)]}:{shown}(已记入审计记录)。", "ok")
    return redirect(url_for("spot_pages.item", item_id=item_id))


@bp.route("/bureau/spot-checks/items/<int:item_id>/conclusion", methods=["POST"])
@access(*STAFF)
def conclude(item_id: int) -> ResponseReturnValue:
    """Conclude an item: genuine, or false (senior auditor or admin, with a reason) revoking the trade-in."""
    try:
        read = FieldErrors()
        values = {"conclusion": read.value(lambda: _text("conclusion", 10), ""),
                  "reason": read.value(lambda: _text("reason", 500, multiline=True), "")}
        read.raise_any()
        with uow() as tx:
            done = spot_services.conclude(tx, principal=current_principal(), item_id=item_id, **values)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _item_page(item_id, for_staff(exc, labels=CONCLUDE_LABELS), exc.status, CONCLUDE_LABELS)
    extra = f",已撤销并扣回 {done.clawed_back} 元" if done.state == ItemState.FALSE else ""
    flash(f"结论:{ITEM_STATE_ZH[ItemState(done.state)]}{extra}(已记入审计记录)。", "ok")
    return redirect(url_for("spot_pages.item", item_id=item_id))


@bp.route("/bureau/spot-tasks")
@access(*STAFF)
def my_tasks() -> ResponseReturnValue:
    """The caller's counties' sampled items still awaiting results or a conclusion (我的抽查任务)."""
    page = page_number(request.args.get("page"))
    with uow() as tx:
        items, total = spot_queries.list_items(tx, principal=current_principal(), state=ItemState.OPEN.value,
                                               limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("oversight/spot_tasks.html", items=items, total=total, page=page, size=PAGE_SIZE,
                           **NAMES)
