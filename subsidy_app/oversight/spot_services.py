"""Spot checks: the city bureau plans and draws; county auditors record each task; an item is concluded once."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from subsidy_app.appliances import selling
from subsidy_app.applications.domain import Action
from subsidy_app.applications.review import review
from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, FieldErrors, Forbidden, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal, Role
from subsidy_app.oversight import spot_population
from subsidy_app.oversight.spot_domain import (
    NO_ANSWER,
    OUTCOMES,
    ItemState,
    PlanState,
    SubjectKind,
    TaskKind,
    callback_outcome,
    draw,
    may_conclude,
)
from subsidy_app.oversight.spot_models import SpotItem, SpotPlan, SpotResult, SpotTask
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

PLANNERS = frozenset({Role.ADMIN, Role.SENIOR_AUDITOR})  # of the city bureau (all counties)
RECORDERS = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN})
# Finding a trade-in false revokes it: the same roles as a revocation in applications.review.
DECIDERS = frozenset({Role.SENIOR_AUDITOR, Role.ADMIN})
MAX_SEED = 64


@dataclass(frozen=True)
class Drawn:
    """What a draw did: the recorded seed and the counts."""

    plan_id: int
    seed: str
    population: int
    sampled: int
    state: str


@dataclass(frozen=True)
class TaskDone:
    """A task after a recorded result."""

    item_id: int
    task_id: int
    kind: str
    state: str
    outcome: str | None
    attempts: int


@dataclass(frozen=True)
class Concluded:
    """An item after its conclusion."""

    item_id: int
    state: str
    clawed_back: Decimal
    plan_state: str


def _city_planner(principal: Principal) -> None:
    if not (principal.has_any(PLANNERS) and visibility.sees_every_county(principal)):
        raise Forbidden("抽查计划由市局管理员或复核员制定 / sampling plans are made by the city bureau",
                        reason="spot.city_only")


def _rate(raw: object, read: FieldErrors) -> Decimal:
    try:
        rate = Decimal(str(raw).strip())
    except InvalidOperation:
        rate = Decimal("-1")
    if not rate.is_finite() or not Decimal("0") < rate <= Decimal("100") or rate != rate.quantize(Decimal("0.01")):
        read.add("rate_percent", "抽样比例应为 0–100 之间、最多两位小数 / the rate must be above 0 and at most 100, "
                                 "with at most 2 decimals", reason="spot.rate")
        return Decimal("0")
    return rate


def create_plan(uow: UnitOfWork, *, principal: Principal, programme: str, period_start: dt.date,
                period_end: dt.date, rate_percent: Decimal | str, note: str | None = None) -> int:
    """Create a draft sampling plan of one programme and period (Beijing days) at a rate in percent."""
    _city_planner(principal)
    read = FieldErrors()
    if programme not in PROGRAMME_LABELS_ZH:
        read.add("programme", "请选择补贴项目 / choose a programme", reason="spot.programme")
    if period_end < period_start:
        read.add("period_end", "结束日期早于开始日期 / the period ends before it starts", reason="spot.period")
    rate = _rate(rate_percent, read)
    read.raise_any()
    plan = SpotPlan(programme=programme, period_start=period_start, period_end=period_end, rate_percent=rate,
                    state=PlanState.DRAFT.value, note=(note or "").strip()[:300] or None, created_by=principal.actor)
    uow.session.add(plan)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="spot_plan.created", entity_type="spot_plan", entity_id=plan.id,
                 after={"state": plan.state, "programme": programme, "period": [str(period_start), str(period_end)],
                        "rate_percent": str(rate)})
    return plan.id


def lock_plan(uow: UnitOfWork, plan_id: int) -> SpotPlan:
    """Lock a plan row (a draw and the last conclusion queue up on it), else 404."""
    plan = uow.session.scalar(select(SpotPlan).where(SpotPlan.id == plan_id).with_for_update())
    if plan is None:
        raise visibility.not_in_scope()
    return plan


def draw_plan(uow: UnitOfWork, *, principal: Principal, plan_id: int, seed: str | None = None) -> Drawn:
    """Draw the plan's sample once, reproducibly from the seed (a new random one when none is given); audited."""
    _city_planner(principal)
    if seed is not None and (not seed.strip() or len(seed) > MAX_SEED or not seed.isprintable()):
        raise ValidationFailed.field("seed", f"种子应为 1–{MAX_SEED} 个可见字符 / the seed must be 1–{MAX_SEED} "
                                             "printable characters", reason="spot.seed")
    plan = lock_plan(uow, plan_id)
    if plan.state != PlanState.DRAFT:
        raise Conflict("该计划已抽样 / this plan has been drawn already", reason="spot.already_drawn")
    chosen_seed = seed.strip() if seed else secrets.token_hex(16)
    found = spot_population.members(uow, programme=plan.programme, period_start=plan.period_start,
                                    period_end=plan.period_end)
    by_key = {m.candidate.key: m for m in found}
    sample = draw([m.candidate for m in found], rate_percent=plan.rate_percent, seed=chosen_seed)
    items = [SpotItem(plan_id=plan.id, subject_kind=d.candidate.kind.value, subject_id=d.candidate.subject_id,
                      subject_number=by_key[d.candidate.key].number, county_code=d.candidate.county_code,
                      dealer_org_id=d.candidate.dealer_org_id, amount=by_key[d.candidate.key].amount,
                      reason=d.reason.value, state=ItemState.OPEN.value) for d in sample.items]
    uow.session.add_all(items)
    uow.flush()
    uow.session.add_all([SpotTask(item_id=item.id, kind=kind.value, state="open", attempts=0)
                         for item in items for kind in TaskKind])
    plan.seed, plan.population, plan.sampled = chosen_seed, sample.population, len(items)
    plan.strata = [{"county_code": s.county_code, "dealer_org_id": s.dealer_org_id, "population": s.population,
                    "drawn": s.drawn} for s in sample.strata]
    plan.drawn_by, plan.drawn_at = principal.actor, utcnow()
    plan.state = (PlanState.DRAWN if items else PlanState.CLOSED).value
    if not items:
        plan.closed_at = plan.drawn_at
    audit.record(uow, actor=principal.actor, action="spot_plan.drawn", entity_type="spot_plan", entity_id=plan.id,
                 before={"state": PlanState.DRAFT.value},
                 after={"state": plan.state, "seed": chosen_seed, "population": sample.population,
                        "sampled": len(items), "rate_percent": str(plan.rate_percent)})
    for item in items:
        audit.record(uow, actor=principal.actor, action="spot_item.sampled", entity_type="spot_item",
                     entity_id=item.id, after={"plan": plan.id, "subject": f"{item.subject_kind}:{item.subject_number}",
                                               "reason": item.reason, "state": item.state})
    return Drawn(plan.id, chosen_seed, sample.population, len(items), plan.state)


def lock_item(uow: UnitOfWork, *, principal: Principal, item_id: int) -> SpotItem:
    """Lock an item the caller's counties cover (results and conclusions of one item queue up), else 404."""
    item = uow.session.scalar(select(SpotItem).where(SpotItem.id == item_id).with_for_update())
    if item is None or principal.kind != "staff" or not principal.covers_county(item.county_code):
        raise visibility.not_in_scope()
    return item


def record_result(uow: UnitOfWork, *, principal: Principal, item_id: int, task: str, outcome: str,
                  note: str | None = None, attempts_allowed: int = 3) -> TaskDone:
    """Record one attempt or result of an item's task; unanswered calls end "unreachable" after the allowed tries."""
    if not principal.has_any(RECORDERS):
        raise Forbidden("核查结果须由审核人员记录 / results are recorded by auditors", reason="auth.forbidden")
    read = FieldErrors()
    kind = TaskKind(task) if task in {k.value for k in TaskKind} else None
    if kind is None:
        read.add("task", "核查任务应为电话回访、资料复核或实地核查 / unknown task", reason="spot.task")
    elif outcome not in OUTCOMES[kind]:
        read.add("outcome", "该核查任务没有这个结果 / not an outcome of this task", reason="spot.outcome")
    text = (note or "").strip()
    if outcome == "other" and not text and kind is not None and not read.refused("outcome"):
        read.add("note", "结果为“其他”时须说明 / explain an \u201cother\u201d outcome", reason="spot.note")
    read.raise_any()
    assert kind is not None
    item = lock_item(uow, principal=principal, item_id=item_id)
    if item.state != ItemState.OPEN:
        raise Conflict("该抽查项已有结论 / this item is concluded already", reason="spot.already_concluded")
    row = uow.session.scalar(select(SpotTask).where(SpotTask.item_id == item.id, SpotTask.kind == kind.value)
                             .with_for_update())
    assert row is not None  # every item gets its three tasks when it is drawn
    if row.state == "done":
        raise Conflict("该核查任务已完成 / this task is done already", reason="spot.task_done")
    uow.session.add(SpotResult(task_id=row.id, outcome=outcome, note=text[:500] or None,
                               recorded_by=principal.actor))
    row.attempts += 1
    before = row.state
    # A task is done at its first answer, so every earlier result of an open call-back was an unanswered call.
    final = callback_outcome(row.attempts, attempts_allowed) if outcome == NO_ANSWER else outcome
    if final is not None:
        row.state, row.outcome, row.done_at = "done", final, utcnow()
    audit.record(uow, actor=principal.actor, action="spot_task.recorded", entity_type="spot_task", entity_id=row.id,
                 before={"state": before},
                 after={"item": item.id, "task": kind.value, "result": outcome, "attempt": row.attempts,
                        "state": row.state, "outcome": row.outcome, "note": text[:200] or None})
    return TaskDone(item.id, row.id, kind.value, row.state, row.outcome, row.attempts)


def conclude(uow: UnitOfWork, *, principal: Principal, item_id: int, conclusion: str, reason: str | None = None
             ) -> Concluded:
    """Conclude an item once: genuine, or false (a senior auditor or admin, with a reason) revoking the trade-in."""
    read = FieldErrors()
    state = ItemState(conclusion) if conclusion in (ItemState.GENUINE, ItemState.FALSE) else None
    if state is None:
        read.add("conclusion", "结论应为属实或不属实 / the conclusion must be genuine or false",
                 reason="spot.conclusion")
    why = (reason or "").strip()
    if state is ItemState.FALSE and not why:
        read.add("reason", "认定不属实须填写原因 / a false finding needs a reason", reason="spot.reason")
    read.raise_any()
    assert state is not None
    if not principal.has_any(RECORDERS):
        raise Forbidden("抽查结论须由审核人员作出 / items are concluded by auditors", reason="auth.forbidden")
    if state is ItemState.FALSE and not principal.has_any(DECIDERS):
        raise Forbidden("认定不属实须由复核员或管理员操作 / a false finding needs a senior auditor or an admin",
                        reason="spot.needs_senior")
    item = lock_item(uow, principal=principal, item_id=item_id)
    if item.state != ItemState.OPEN:
        raise Conflict("该抽查项已有结论 / this item is concluded already", reason="spot.already_concluded")
    outcomes = list(uow.session.scalars(select(SpotTask.outcome).where(SpotTask.item_id == item.id,
                                                                       SpotTask.state == "done")))
    refused = may_conclude(state, [o for o in outcomes if o])
    if refused:
        raise Conflict(refused, reason="spot.not_concludable")
    clawed = Decimal("0.00")
    if state is ItemState.FALSE:
        text = f"抽查不属实 / spot check found it false: {why}"[:500]
        if item.subject_kind == SubjectKind.APPLICATION:
            # The one transition function (through the reviewers' door): a paid one gets its Clawback row.
            review(uow, principal=principal, application_id=item.subject_id, action=Action.REVOKE, reason=text)
        else:
            selling.revoke_sale(uow, principal=principal, sale_id=item.subject_id, reason=text)
        clawed = item.amount
    item.state, item.conclusion_reason = state.value, why[:500] or None
    item.concluded_by, item.concluded_at, item.clawed_back = principal.actor, utcnow(), clawed
    audit.record(uow, actor=principal.actor, action="spot_item.concluded", entity_type="spot_item", entity_id=item.id,
                 before={"state": ItemState.OPEN.value},
                 after={"state": item.state, "reason": item.conclusion_reason, "clawed_back": str(clawed),
                        "subject": f"{item.subject_kind}:{item.subject_number}"})
    plan = lock_plan(uow, item.plan_id)  # after the item: every conclusion takes item, subject, then plan
    uow.flush()
    still_open = uow.session.scalar(select(func.count()).where(SpotItem.plan_id == plan.id,
                                                               SpotItem.state == ItemState.OPEN.value))
    if not still_open and plan.state == PlanState.DRAWN:
        plan.state, plan.closed_at = PlanState.CLOSED.value, utcnow()
        audit.record(uow, actor=principal.actor, action="spot_plan.closed", entity_type="spot_plan",
                     entity_id=plan.id, before={"state": PlanState.DRAWN.value}, after={"state": plan.state})
    return Concluded(item.id, item.state, clawed, plan.state)
