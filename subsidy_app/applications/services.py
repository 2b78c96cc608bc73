"""The one transition function of an application, with each action's side effects in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from subsidy_app.applications import holdings
from subsidy_app.applications.domain import (
    STATE_LABELS_ZH,
    Action,
    State,
    TransitionRefused,
    plan_transition,
)
from subsidy_app.applications.models import Application, ApplicationEvent, Clawback
from subsidy_app.audit import services as audit
from subsidy_app.core.db import insert_rows, utcnow
from subsidy_app.core.errors import Conflict, NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import budget

FUNDED_JOB = "applications.budget_funded"
# Appliance settlement statements (issue 5 §6) pay a dealer for instant discounts; the budget was reserved per sale.
DEALER_PAYEE = "dealer"
SMS_JOB = "applications.notify_residents"
# States the resident is texted about (applications/tasks.py holds the texts); "checking" lasts seconds.
NOTIFIED_STATES = frozenset({
    State.SUBMITTED, State.PENDING_REVIEW, State.RETURNED, State.AWAITING_FUNDS, State.APPROVED, State.PAID,
    State.REJECTED, State.REVOKED, State.WITHDRAWN,
})
_EVENTS, _NOTICES = "applications.events", "applications.notices"


@dataclass(frozen=True)
class Transitioned:
    """The outcome of one transition."""

    application_id: int
    from_state: State
    to_state: State


def load_for_update(uow: UnitOfWork, application_id: int) -> Application:
    """Lock an application row: transitions of one application are serialised."""
    app = uow.session.scalar(select(Application).where(Application.id == application_id).with_for_update())
    if app is None:
        raise NotFound("申请不存在 / application not found", reason="application.not_found")
    return app


def transition(
    uow: UnitOfWork, *, app: Application, action: Action, actor: str, reason: str | None = None,
    reviewer_id: int | None = None,
) -> Transitioned:
    """Move an application through the state table, applying the action's side effects."""
    current = State(app.state)
    try:
        target = _target(uow, app, action, reviewer_id)
        step = plan_transition(current, action, target=target, reason=reason,
                               first_reviewer=app.first_reviewer_id, reviewer=reviewer_id)
    except TransitionRefused as refused:
        raise Conflict(refused.why, reason="application.invalid_transition") from None
    _apply_side_effects(uow, app, step.action, step.to_state, actor, reason, reviewer_id)
    app.state = step.to_state.value
    app.updated_at = utcnow()
    if reason:
        app.last_reason = reason.strip()[:500]
    uow.context.setdefault(_EVENTS, []).append({
        "application_id": app.id, "action": action.value, "from_state": current.value,
        "to_state": step.to_state.value, "actor": actor, "reason": reason, "at": utcnow()})
    audit.record(uow, actor=actor, action=f"application.{action.value}", entity_type="application",
                 entity_id=app.id, before={"state": current.value},
                 after={"state": step.to_state.value, "reason": reason})
    if step.to_state in NOTIFIED_STATES:
        uow.context.setdefault(_NOTICES, []).append([app.id, step.to_state.value])
    # A batch of transitions writes its events in one INSERT and its texts as one job, at commit.
    uow.before_commit(_EVENTS, _write_events_and_notices)
    return Transitioned(app.id, current, step.to_state)


def _write_events_and_notices(uow: UnitOfWork) -> None:
    """Insert the transaction's application events and queue one job texting every resident concerned."""
    events = uow.context.pop(_EVENTS, [])
    if events:
        insert_rows(uow.session, ApplicationEvent, events)
    notices = uow.context.pop(_NOTICES, [])
    if notices:
        uow.enqueue(SMS_JOB, changes=notices)


def _target(uow: UnitOfWork, app: Application, action: Action, reviewer_id: int | None) -> State | None:
    if action not in (Action.APPROVE, Action.APPROVE_SECOND):
        return None
    if State(app.state) not in (State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW):
        return None  # let the table refuse it
    if app.amount <= 0:
        raise Conflict("按规则核定的补贴金额为 0,不能通过;请退回或不予通过 / the rules grant nothing: return or "
                       "reject it", reason="application.no_amount")
    if action is Action.APPROVE and app.needs_second_review:
        return State.PENDING_SECOND_REVIEW
    if app.payee_kind == DEALER_PAYEE:
        return State.APPROVED  # appliance dealer statement: each sale reserved its budget at the till
    return _reserve_budget(uow, app)
    return None


def _reserve_budget(uow: UnitOfWork, app: Application) -> State:
    pool_id = budget.pool_for(uow, programme=app.programme, county_code=app.county_code)
    outcome = budget.reserve(uow, actor="system", pool_id=pool_id, reference=app.number, amount=app.amount,
                             submitted_at=app.submitted_at, on_funded_job=FUNDED_JOB)
    app.budget_pool_id = pool_id
    return State.APPROVED if outcome.state == "reserved" else State.AWAITING_FUNDS


def _apply_side_effects(uow: UnitOfWork, app: Application, action: Action, to_state: State, actor: str,
                        reason: str | None, reviewer_id: int | None) -> None:
    if action is Action.APPROVE:
        app.first_reviewer_id = reviewer_id
        if to_state is not State.PENDING_SECOND_REVIEW:
            holdings.consume(uow, app=app, actor=actor)
    elif action is Action.APPROVE_SECOND:
        app.second_reviewer_id = reviewer_id
        holdings.consume(uow, app=app, actor=actor)
    elif action in (Action.REJECT, Action.WITHDRAW):
        if app.budget_pool_id is not None:
            budget.release(uow, actor=actor, reference=app.number, reason=reason or action.value)
        holdings.release(uow, app=app, actor=actor, consumed=app.state == State.AWAITING_FUNDS)
    elif action is Action.PAYMENT_CONFIRMED:
        for reference in budget_references(app):
            budget.spend(uow, actor=actor, reference=reference)
        for reference in clawback_references(app):  # deducted from this payment: the pool gets it back, once
            budget.refund(uow, actor=actor, reference=reference, reason=f"结算单 {app.number} 扣回 / clawed back")
        app.paid_at = utcnow()
    elif action is Action.PAYMENT_FAILED:
        app.card_correction_needed = True
    elif action is Action.REVOKE:
        if State(app.state) is State.PAID:
            uow.session.add(Clawback(application_id=app.id, amount=app.amount, reason=reason or "",
                                     created_by=actor))
        elif app.payee_kind != DEALER_PAYEE:  # a revoked dealer statement's sales keep their reservations
            budget.release(uow, actor=actor, reference=app.number, reason=reason or "revoked")
    elif action is Action.RESUBMIT:
        app.card_correction_needed = False


def budget_references(app: Application) -> list[str]:
    """Return the budget reservations an application's payment spends (a dealer statement: one per sale)."""
    if app.payee_kind == DEALER_PAYEE:
        return [str(ref) for ref in app.facts.get("sale_refs", [])]
    return [app.number]


def clawback_references(app: Application) -> list[str]:
    """Return the paid subsidies a dealer statement deducts (returns after an earlier statement was paid)."""
    if app.payee_kind == DEALER_PAYEE:
        return [str(ref) for ref in app.facts.get("clawback_refs", [])]
    return []


def state_label(state: str) -> str:
    """Return the Chinese label of a state."""
    return STATE_LABELS_ZH[State(state)]


def on_budget_funded(uow: UnitOfWork, *, reference: str) -> None:
    """Move an approval that waited for money to approved once its reservation is funded."""
    app = uow.session.scalar(select(Application).where(Application.number == reference).with_for_update())
    if app is None or app.state != State.AWAITING_FUNDS:
        return
    transition(uow, app=app, action=Action.FUNDED, actor="system:budget")
