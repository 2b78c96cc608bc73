"""Auditors' pages: the work queue with batch approval, and one application's detail with the decisions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.applications import assignment, queries, queue_input, queue_queries, review
from subsidy_app.applications import form_input as f
from subsidy_app.applications.domain import ACTION_LABELS_ZH, BATCH_SKIP_LABELS_ZH, STATE_LABELS_ZH, Action, State
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents.domain import KIND_LABELS_ZH
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import COUNTIES, Principal, Role, actor_label
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

bp = Blueprint("review_pages", __name__, template_folder="templates")
PAGE_ROLES = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
OVERRIDERS = (Role.AUDITOR, Role.SENIOR_AUDITOR)
QUEUE_STATES = (State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW, State.AWAITING_FUNDS, State.RETURNED,
                State.APPROVED, State.IN_PAYMENT, State.PAID, State.REJECTED, State.REVOKED)
DECISIONS = (Action.APPROVE, Action.APPROVE_SECOND, Action.RETURN, Action.REJECT, Action.REVOKE)
FIELD_LABELS = {"application_ids": "勾选的申请", "reason": "审核意见", "action": "审核操作", "assignee": "分派给"}


def _default_state(principal: Principal) -> State:
    """A senior auditor without the auditor role works the second-review queue first."""
    if Role.SENIOR_AUDITOR in principal.roles and Role.AUDITOR not in principal.roles:
        return State.PENDING_SECOND_REVIEW
    return State.PENDING_REVIEW


def _deadlines(tx: UnitOfWork) -> queue_queries.Deadlines:
    return queue_input.deadlines_in_force(tx, runtime().settings)


def _queue_context(principal: Principal) -> dict[str, Any]:
    return {"states": [(s.value, STATE_LABELS_ZH[s]) for s in QUEUE_STATES], "programmes": PROGRAMME_LABELS_ZH,
            "counties": {c: n for c, n in COUNTIES.items() if principal.covers_county(c)},
            "categories": queue_queries.categories(), "failed_checks": queue_input.FAILED_CHECKS,
            "sorts": queue_queries.SORTS, "assigned_options": queue_queries.ASSIGNED, "me": principal.account_id,
            "can_batch": principal.has_any(frozenset(OVERRIDERS)), "labels": {**FIELD_LABELS, **queue_input.LABELS},
            "page_size": queue_queries.PAGE_SIZE}


def _queue_page(error: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    args = request.args.to_dict()
    try:
        chosen = queue_input.read_filter(args, default_state=_default_state(principal))
    except DomainError as exc:
        return render_template("applications/staff/review_queue.html", page=None, args=args, chosen="all",
                               error=f.page_error(exc, queue_input.LABELS), **_queue_context(principal)), exc.status
    with uow() as tx:
        page = queue_queries.work_queue(tx, principal=principal, chosen=chosen, deadlines=_deadlines(tx))
    return render_template("applications/staff/review_queue.html", page=page, args=args, error=error,
                           chosen=chosen.state.value if chosen.state else "all", **_queue_context(principal)), status


@bp.route("/review")
@access(*PAGE_ROLES)
def queue() -> ResponseReturnValue:
    """The work queue: filters, search, sort, pages, counts per state, each item's age and deadline."""
    return _queue_page()


@bp.route("/review/batch-approve", methods=["POST"])
@access(*OVERRIDERS)
def batch_approve() -> ResponseReturnValue:
    """Approve the ticked applications whose checks all passed, each through the same transition; the page lists
    each one's result (the list does not fit a flash, and the form key makes a second submission harmless)."""
    try:
        chosen = f.ids(request.form.getlist("application_ids"), "application_ids")
        with uow() as tx:
            lines = review.batch_approve_lines(tx, principal=current_principal(), application_ids=chosen)
            tx.commit()
    except DomainError as exc:
        return _queue_page(f.page_error(exc, FIELD_LABELS), exc.status)
    return render_template("applications/staff/batch_result.html", lines=lines, skip_labels=BATCH_SKIP_LABELS_ZH,
                           back=request.form.get("state") or "pending_review",
                           counts={r: sum(1 for line in lines if line.result == r)
                                   for r in ("approved", "awaiting_funds", "skipped")})


@bp.route("/review/<int:application_id>/assign", methods=["POST"])
@access(*PAGE_ROLES)
def assign(application_id: int) -> ResponseReturnValue:
    """Take an application, give it to a reviewer of its county, or release it; audited."""
    principal = current_principal()
    try:
        chosen = f.text(request.form, "assignee", max_length=20)
        if chosen == "me":
            assignee: int | None = principal.account_id
        elif chosen in ("", "none"):
            assignee = None
        elif chosen.isascii() and chosen.isdigit() and 0 < int(chosen) <= MAX_ID:
            assignee = int(chosen)
        else:
            raise ValidationFailed.field("assignee", "请选择审核员 / choose a reviewer")
        with uow() as tx:
            assignment.assign(tx, principal=principal, application_id=application_id, assignee_id=assignee)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _detail_page(application_id, f.page_error(exc, FIELD_LABELS), exc.status)
    flash("已取消分派。" if assignee is None else "已分派。", "ok")
    return redirect(url_for("review_pages.detail", application_id=application_id))


def _detail_page(application_id: int, error: dict[str, Any] | None = None, status: int = 200,
                 reason: str = "") -> ResponseReturnValue:
    principal = current_principal()
    with uow() as tx:
        detail = queries.application_detail(tx, principal=principal, application_id=application_id)
    state = State(detail["state"])
    first_reviewer = detail["first_reviewer_id"] is not None and detail["first_reviewer_id"] == principal.account_id
    senior = Role.SENIOR_AUDITOR in principal.roles
    actions = {
        Action.APPROVE: state is State.PENDING_REVIEW and principal.has_any(frozenset(OVERRIDERS)),
        Action.APPROVE_SECOND: state is State.PENDING_SECOND_REVIEW and senior and not first_reviewer,
        Action.RETURN: state in (State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW),
        Action.REJECT: state in (State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW, State.AWAITING_FUNDS),
        Action.REVOKE: state in (State.APPROVED, State.IN_PAYMENT, State.PAID)
        and principal.has_any(frozenset({Role.SENIOR_AUDITOR, Role.ADMIN})),
    }
    assignable = state in assignment.ASSIGNABLE
    return render_template(
        "applications/staff/review_detail.html", app=detail, error=error, reason=reason, labels=FIELD_LABELS,
        can_take=assignable and principal.account_id in detail["reviewers"]
        and detail["assigned_to"] != principal.account_id,
        can_release=assignable and detail["assigned_to"] is not None
        and (detail["assigned_to"] == principal.account_id or principal.has_any(assignment.DISPATCHERS)),
        can_dispatch=assignable and principal.has_any(assignment.DISPATCHERS),
        first_reviewer=first_reviewer, senior=senior, county=COUNTIES.get(detail["county_code"], ""),
        programme=PROGRAMME_LABELS_ZH.get(detail["programme"], detail["programme"]),
        actions=[(a.value, ACTION_LABELS_ZH[a]) for a, allowed in actions.items() if allowed],
        can_override=state is State.PENDING_REVIEW and principal.has_any(frozenset(OVERRIDERS)),
        action_labels={a.value: label for a, label in ACTION_LABELS_ZH.items()},
        state_labels={s.value: label for s, label in STATE_LABELS_ZH.items()},
        kind_labels={str(k): label for k, label in KIND_LABELS_ZH.items()}, actor_label=actor_label), status


@bp.route("/review/<int:application_id>")
@access(*PAGE_ROLES)
def detail(application_id: int) -> ResponseReturnValue:
    """Show an application with its checks, documents, history and the decisions the caller may take."""
    return _detail_page(application_id)


@bp.route("/review/<int:application_id>/decision", methods=["POST"])
@access(*PAGE_ROLES)
def decide(application_id: int) -> ResponseReturnValue:
    """Apply a reviewer's decision (approve, second approval, return, reject, revoke) with its reason."""
    reason = ""
    try:
        reason = f.text(request.form, "reason", max_length=500, multiline=True)
        chosen = f.text(request.form, "action")
        if chosen not in {a.value for a in DECISIONS}:
            raise ValidationFailed.field("action", "请选择审核操作 / choose a decision")
        with uow() as tx:
            done = review.review(tx, principal=current_principal(), application_id=application_id,
                                 action=Action(chosen), reason=reason or None)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _detail_page(application_id, f.page_error(exc, FIELD_LABELS), exc.status, reason)
    flash(f"已{ACTION_LABELS_ZH[Action(chosen)]},当前状态:{STATE_LABELS_ZH[done.to_state]}", "ok")
    return redirect(url_for("review_pages.detail", application_id=application_id))


@bp.route("/review/<int:application_id>/checks/<int:check_id>/override", methods=["POST"])
@access(*OVERRIDERS)
def override(application_id: int, check_id: int) -> ResponseReturnValue:
    """Accept a failed check by hand with a reason; the application then needs a second review."""
    try:
        with uow() as tx:
            review.override_check(tx, principal=current_principal(), application_id=application_id,
                                  check_id=check_id, reason=f.text(request.form, "reason", max_length=500))
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _detail_page(application_id, f.page_error(exc, FIELD_LABELS), exc.status)
    flash("已人工确认该核验项;本申请需由另一名复核员复核。", "ok")
    return redirect(url_for("review_pages.detail", application_id=application_id))
