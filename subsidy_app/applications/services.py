"""The one door into the application table, and the one transition function with each action's side effects."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from subsidy_app.applications import holdings, tallies
from subsidy_app.applications.domain import (
    STATE_LABELS_ZH,
    Action,
    CheckResult,
    State,
    Step,
    TransitionRefused,
    plan_transition,
)
from subsidy_app.applications.kinds import CONSENT_VERSION as CONSENT_VERSION
from subsidy_app.applications.kinds import Kind as Kind
from subsidy_app.applications.kinds import Payee as Payee
from subsidy_app.applications.kinds import WithFacts as WithFacts
from subsidy_app.applications.kinds import WithSale as WithSale
from subsidy_app.applications.kinds import kind_named as kind_named
from subsidy_app.applications.kinds import kind_of as kind_of
from subsidy_app.applications.kinds import payee_of as payee_of
from subsidy_app.applications.kinds import register_kind as register_kind
from subsidy_app.applications.kinds import registered_kinds as registered_kinds
from subsidy_app.applications.models import Application, ApplicationCheck, ApplicationEvent, Clawback
from subsidy_app.audit import services as audit
from subsidy_app.core import constraints
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import insert_rows, utcnow
from subsidy_app.core.errors import Conflict, DomainError, NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.rules import budget, budget_pools, quotas
from subsidy_app.rules.domain import QuotaKey

# Kind, Payee, WithFacts, payee_of and register_kind are re-exported: other packages and modules use them through
# services.
FUNDED_JOB = "applications.budget_funded"
CHECK_JOB = "applications.run_checks"
SMS_JOB = "applications.notify_residents"
# States the resident is texted about (applications/tasks.py holds the texts); "checking" lasts seconds.
NOTIFIED_STATES = frozenset({
    State.SUBMITTED, State.PENDING_REVIEW, State.RETURNED, State.AWAITING_FUNDS, State.APPROVED, State.PAID,
    State.REJECTED, State.REVOKED, State.WITHDRAWN,
})
_EVENTS, _NOTICES = "applications.events", "applications.notices"


@dataclass(frozen=True)
class Submitted:
    """A new application's number and the code its status QR carries."""

    application_id: int
    number: str
    status_code: str
    state: str


@dataclass(frozen=True)
class Opening:
    """What one kind of application brings to the door; the door adds what every application gets."""

    programme: str
    category: str
    county_code: str
    amount: Decimal
    facts: dict[str, Any]
    version_code: str | None = None
    person_id: int | None = None
    bank_card_id: int | None = None
    dealer_org_id: int | None = None
    sale_id: int | None = None
    new_vin: str | None = None
    old_vin: str | None = None
    certificate_id: int | None = None
    appliance_sale_id: int | None = None
    needs_second_review: bool = False
    quota: QuotaKey | None = None  # held for the person under the application's number
    audit: dict[str, Any] = field(default_factory=dict)  # what else the audit event records


@dataclass(frozen=True)
class FirstRun:
    """What a kind's inline checks found: the application's first run of checks, and whether it needs a second
    reviewer besides what the opening said."""

    checks: list[CheckResult]
    second_review: bool = False


def open_application(uow: UnitOfWork, *, kind: str, opening: Opening, actor: str,
                     checks: Callable[[int], FirstRun] | None = None) -> Submitted:
    """Open an application of a registered kind; 409 when what it names is already held by a live application.

    Every application gets its number, status code, consent, quota hold, audit event and checks here.
    `checks` runs the kind's checks inline (given the new application's id; the door stores what they found);
    without it the check job runs them after commit.
    """
    spec = kind_named(kind)
    o = opening
    status_code = secrets.token_hex(16)
    app = Application(
        number=status_code[:24], status_code=status_code, state=State.SUBMITTED.value, payee_kind=spec.payee.name,
        consent_version=spec.consent_version, consent_at=utcnow(), programme=o.programme, category=o.category,
        county_code=o.county_code, amount=o.amount, facts=o.facts, version_code=o.version_code,
        person_id=o.person_id, bank_card_id=o.bank_card_id, dealer_org_id=o.dealer_org_id, sale_id=o.sale_id,
        new_vin=o.new_vin, old_vin=o.old_vin, certificate_id=o.certificate_id, appliance_sale_id=o.appliance_sale_id,
        needs_second_review=o.needs_second_review)
    uow.session.add(app)
    try:
        uow.flush()  # the partial unique indexes on live applications decide races for a certificate, car or sale
    except IntegrityError as exc:
        raise constraints.error_for(exc) from None
    app.number = f"{spec.prefix}{business_date(app.submitted_at):%Y}{app.id:08d}"
    tallies.count(uow, app=app, milestone="submitted", at=app.submitted_at)
    if o.quota is not None:
        quotas.hold_quota(uow, person_id=app.person_id, key=o.quota, reference=app.number, actor=actor)
    if spec.reserve_on_open:
        _reserve_budget(uow, app, actor=actor)
    audit.record(uow, actor=actor, action="application.submitted", entity_type="application", entity_id=app.id,
                 after={"kind": spec.name, "number": app.number, "programme": app.programme,
                        "amount": str(app.amount), **o.audit})
    if checks is None:
        uow.enqueue(CHECK_JOB, application_id=app.id)
    else:
        checker = spec.checks_actor or actor
        transition(uow, app=app, action=Action.START_CHECKS, actor=checker)
        run = checks(app.id)
        uow.session.add_all([check_row(app.id, 1, check) for check in run.checks])
        if run.second_review:
            app.needs_second_review = True
        transition(uow, app=app, action=Action.CHECKS_DONE, actor=checker)
    return Submitted(app.id, app.number, app.status_code, app.state)


def check_row(application_id: int, run: int, check: CheckResult) -> ApplicationCheck:
    """A check result as its stored row, cut to the columns' lengths."""
    return ApplicationCheck(application_id=application_id, run=run, code=check.code[:60], passed=check.passed,
                            explanation_zh=check.explanation_zh[:500], explanation_en=check.explanation_en[:500])


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
                               first_reviewer=app.first_reviewer_id, reviewer=reviewer_id, refused_by=app.refused_by)
    except TransitionRefused as refused:
        raise Conflict(refused.why, reason="application.invalid_transition") from None
    _apply_side_effects(uow, app, step.action, step.to_state, actor, reason, reviewer_id)
    app.state = step.to_state.value
    if step.action is Action.REOPEN:
        _reassert_holdings(uow, app)
    app.updated_at = utcnow()
    _note_review_time(app, step.action, step.to_state)
    milestone = tallies.milestone_of(step.action, step.to_state)
    if milestone is not None:
        tallies.count(uow, app=app, milestone=milestone, at=app.updated_at)
    if reason:
        app.last_reason = reason.strip()[:500]
    uow.context.setdefault(_EVENTS, []).append({
        "application_id": app.id, "action": action.value, "from_state": current.value,
        "to_state": step.to_state.value, "actor": actor, "reason": reason, "at": app.updated_at})
    audit.record(uow, actor=actor, action=f"application.{action.value}", entity_type="application",
                 entity_id=app.id, before={"state": current.value},
                 after={"state": step.to_state.value, "reason": reason})
    if step.to_state in NOTIFIED_STATES:
        uow.context.setdefault(_NOTICES, []).append([app.id, step.to_state.value])
    for listener in _LISTENERS:
        listener(uow, app.id, step, reason)
    # A batch of transitions writes its events in one INSERT and its texts as one job, at commit.
    uow.before_commit(_EVENTS, _write_events_and_notices)
    return Transitioned(app.id, current, step.to_state)


# Packages that follow applications (oversight's appeals) learn of each transition in its transaction; the
# applications package imports none of them.
Listener = Callable[[UnitOfWork, int, Step, str | None], None]  # (uow, application id, step, reason)
_LISTENERS: list[Listener] = []


def on_transition(listener: Listener) -> None:
    """Call `listener` after every transition, inside its transaction (registered once per listener)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def _reassert_holdings(uow: UnitOfWork, app: Application) -> None:
    """A reopened application names its certificate, new car or sale again: 409 when another live one took it."""
    try:
        uow.flush()  # the partial unique indexes on live applications re-assert here
    except IntegrityError as exc:
        raise constraints.error_for(exc) from None


# The first decision ends a review's time (applications.review_times); a second reviewer's approval does not.
FIRST_DECISIONS = frozenset({Action.APPROVE, Action.REJECT, Action.RETURN})


def _note_review_time(app: Application, action: Action, to_state: State) -> None:
    """Keep when the application first reached pending review and when it was first decided after that."""
    if to_state is State.PENDING_REVIEW and app.review_started_at is None:
        app.review_started_at = app.updated_at
    if action in FIRST_DECISIONS and app.first_decided_at is None and app.review_started_at is not None:
        app.first_decided_at = app.updated_at


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
    if not payee_of(app).holds_own:
        return State.APPROVED  # e.g. a dealer statement: each sale reserved its budget at the till
    return _reserve_budget(uow, app, actor="system")


def _reserve_budget(uow: UnitOfWork, app: Application, *, actor: str) -> State:
    pool_id = budget_pools.pool_for(uow, programme=app.programme, county_code=app.county_code)
    outcome = budget.reserve(uow, actor=actor, pool_id=pool_id, reference=app.number, amount=app.amount,
                             submitted_at=app.submitted_at, on_funded_job=FUNDED_JOB)
    app.budget_pool_id = pool_id
    return State.APPROVED if outcome.state == "reserved" else State.AWAITING_FUNDS


def _apply_side_effects(uow: UnitOfWork, app: Application, action: Action, to_state: State, actor: str,
                        reason: str | None, reviewer_id: int | None) -> None:
    payee = payee_of(app)
    if action is Action.APPROVE:
        app.first_reviewer_id = reviewer_id
        if to_state is not State.PENDING_SECOND_REVIEW and payee.holds_own:
            holdings.consume(uow, app=app, actor=actor)
    elif action is Action.APPROVE_SECOND:
        app.second_reviewer_id = reviewer_id
        if payee.holds_own:
            holdings.consume(uow, app=app, actor=actor)
    elif action in (Action.REJECT, Action.WITHDRAW):
        if action is Action.REJECT and reviewer_id is not None:
            app.refused_by = reviewer_id
        _kind_release(uow, app)
        if app.budget_pool_id is not None:
            budget.release(uow, actor=actor, reference=app.number, reason=reason or action.value)
        if payee.holds_own:  # a dealer statement's sales go onto the dealer's next statement instead
            holdings.release(uow, app=app, actor=actor, consumed=app.state == State.AWAITING_FUNDS)
    elif action is Action.PAYMENT_CONFIRMED:
        for reference in payee.budget_references(app):
            budget.spend(uow, actor=actor, reference=reference)
        for reference in payee.clawback_references(app):  # deducted from this payment: the pool gets it back, once
            budget.refund(uow, actor=actor, reference=reference, reason=f"结算单 {app.number} 扣回 / clawed back")
        app.paid_at = utcnow()
    elif action is Action.PAYMENT_FAILED:
        app.card_correction_needed = True
    elif action is Action.REOPEN:
        _reopen_holdings(uow, app, actor)
    elif action is Action.REVOKE:
        _kind_release(uow, app)
        if State(app.state) is State.PAID:
            uow.session.add(Clawback(application_id=app.id, amount=app.amount, reason=reason or "",
                                     created_by=actor))
        elif payee.holds_own:  # a revoked dealer statement's sales keep their reservations
            budget.release(uow, actor=actor, reference=app.number, reason=reason or "revoked")
    elif action is Action.RESUBMIT:
        app.card_correction_needed = False


def _kind_release(uow: UnitOfWork, app: Application) -> None:
    kind = kind_of(app)
    if kind is not None:
        kind.on_release(uow, app)


def _reopen_holdings(uow: UnitOfWork, app: Application, actor: str) -> None:
    """Take back what the refusal released: the quota unit, the kind's own holding and, for a kind that reserves
    on opening, its place in the budget pool (a second review reserves it for the others)."""
    kind = kind_of(app)
    if payee_of(app).holds_own:
        quotas.rehold_quota(uow, reference=app.number, actor=actor)
    if kind is not None:
        kind.on_reclaim(uow, app)
        if kind.reserve_on_open:
            _reserve_budget(uow, app, actor=actor)


@dataclass(frozen=True)
class Reopened:
    """An application an appeal reopened, and the reviewer it went to (None: nobody eligible in its county)."""

    application_id: int
    number: str
    assigned_to: int | None


def reopen_blocker(uow: UnitOfWork, *, application_id: int) -> DomainError | None:
    """Say why an appeal cannot reopen a refused application (what it named is held by another live one)."""
    app = load_for_update(uow, application_id)
    live = Application.state.not_in([State.REJECTED.value, State.WITHDRAWN.value, State.REVOKED.value])
    taken = [(app.certificate_id, Application.certificate_id, "uq_application_certificate_active"),
             (app.new_vin, Application.new_vin, "uq_application_new_vin_active"),
             (app.appliance_sale_id, Application.appliance_sale_id, "uq_application_appliance_sale_active")]
    for value, column, constraint in taken:
        if value is not None and uow.session.scalar(
                select(Application.id).where(column == value, live, Application.id != app.id).limit(1)):
            return constraints.registered()[constraint].error()
    if payee_of(app).holds_own and not quotas.quota_free_for(uow, reference=app.number):
        return Conflict("该类别补贴次数已被其他申请用完,不能复审 / the person's quota was used by another application "
                        "meanwhile", reason="quota.exhausted")
    return None


def reopen(uow: UnitOfWork, *, application_id: int, actor: str, reason: str) -> Reopened:
    """Reopen a refused application for an appeal (REOPEN) and assign it to an eligible senior auditor of its
    county, never the one who refused it nor its first reviewer; 409 when what it names is taken meanwhile."""
    app = load_for_update(uow, application_id)
    transition(uow, app=app, action=Action.REOPEN, actor=actor, reason=reason)
    barred = {i for i in (app.refused_by, app.first_reviewer_id) if i is not None}
    eligible = sorted(set(identity.senior_auditors_of(uow, county_code=app.county_code)) - barred)
    before, app.assigned_to = app.assigned_to, (eligible[0] if eligible else None)
    audit.record(uow, actor=actor, action="application.assigned", entity_type="application", entity_id=app.id,
                 before={"assigned_to": before}, after={"assigned_to": app.assigned_to, "why": "appeal"})
    return Reopened(app.id, app.number, app.assigned_to)


def budget_references(app: Application) -> list[str]:
    """Return the budget reservations an application's payment spends (a dealer statement: one per sale)."""
    return payee_of(app).budget_references(app)


def state_label(state: str) -> str:
    """Return the Chinese label of a state."""
    return STATE_LABELS_ZH[State(state)]


def on_budget_funded(uow: UnitOfWork, *, reference: str) -> None:
    """Move an approval that waited for money to approved once its reservation is funded."""
    app = uow.session.scalar(select(Application).where(Application.number == reference).with_for_update())
    if app is None or app.state != State.AWAITING_FUNDS:
        return
    transition(uow, app=app, action=Action.FUNDED, actor="system:budget")
