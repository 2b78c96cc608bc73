"""Reviews: first review by a county auditor, a second by a different senior auditor, returns and rejections."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from subsidy_app.applications import holdings
from subsidy_app.applications.domain import Action, State
from subsidy_app.applications.models import Application, ApplicationCheck
from subsidy_app.applications.services import Transitioned, load_for_update, transition
from subsidy_app.applications.visibility import may_see_application
from subsidy_app.audit import services as audit
from subsidy_app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal, Role

REVIEWERS = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR})


def _in_scope(principal: Principal, app: Application) -> None:
    if not may_see_application(principal, app):
        raise NotFound("申请不存在或不在您的管辖范围 / not found or outside your counties", reason="not_found")


def review(uow: UnitOfWork, *, principal: Principal, application_id: int, action: Action,
           reason: str | None = None) -> Transitioned:
    """Apply a reviewer's decision (approve, approve_second, return, reject, revoke) through the transition."""
    app = load_for_update(uow, application_id)
    _in_scope(principal, app)
    if action is Action.APPROVE and not principal.has_any(REVIEWERS):
        raise Forbidden("初审须由审核员完成 / the first review needs an auditor")
    if action is Action.APPROVE_SECOND and Role.SENIOR_AUDITOR not in principal.roles:
        raise Forbidden("复核须由复核员完成 / the second review needs a senior auditor")
    if action is Action.REVOKE and not principal.has_any(frozenset({Role.SENIOR_AUDITOR, Role.ADMIN})):
        raise Forbidden("撤销须由复核员或管理员操作 / revocation needs a senior auditor or an admin")
    if action not in (Action.APPROVE, Action.APPROVE_SECOND, Action.RETURN, Action.REJECT, Action.REVOKE):
        raise ValidationFailed.field("action", f"审核不能执行 {action.value} / not a review action")
    return transition(uow, app=app, action=action, actor=principal.actor, reason=reason,
                      reviewer_id=principal.account_id)


def override_check(uow: UnitOfWork, *, principal: Principal, application_id: int, check_id: int,
                   reason: str) -> None:
    """Accept a failed check with a reason (e.g. a document checked by hand); forces a second review."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "请填写原因 / a reason is required")
    app = load_for_update(uow, application_id)
    _in_scope(principal, app)
    if app.state != State.PENDING_REVIEW:
        raise Conflict("只能在待审核时处理核验结果 / checks can be overridden only while pending review",
                       reason="application.invalid_transition")
    check = uow.session.get(ApplicationCheck, check_id)
    if check is None or check.application_id != app.id:
        raise NotFound("核验项不存在 / check not found", reason="check.not_found")
    check.overridden_by = principal.account_id
    check.override_reason = reason.strip()[:500]
    app.needs_second_review = True
    audit.record(uow, actor=principal.actor, action="application.check_overridden", entity_type="application",
                 entity_id=app.id, after={"check": check.code, "reason": check.override_reason})


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch approval did with each application."""

    approved: list[int]
    awaiting_funds: list[int]
    skipped: dict[int, str]


def batch_approve(uow: UnitOfWork, *, principal: Principal, application_ids: list[int]) -> BatchOutcome:
    """Approve applications whose checks all passed, each through the same transition; others are skipped."""
    approved: list[int] = []
    waiting: list[int] = []
    skipped: dict[int, str] = {}
    # One locking read for the whole batch; then each item goes through the same transition as a single approval.
    rows = {a.id: a for a in uow.session.scalars(select(Application).where(Application.id.in_(application_ids))
                                                 .order_by(Application.id).with_for_update())}
    holdings.prepare_batch(uow, apps=list(rows.values()))
    with uow.session.no_autoflush:
        for application_id in application_ids:
            app = rows.get(application_id)
            if app is None or not may_see_application(principal, app):
                skipped[application_id] = "not_found"
                continue
            if app.state != State.PENDING_REVIEW:
                skipped[application_id] = "not_pending_review"
                continue
            if app.needs_second_review:
                skipped[application_id] = "needs_second_review"
                continue
            outcome = transition(uow, app=app, action=Action.APPROVE, actor=principal.actor,
                                 reviewer_id=principal.account_id)
            (approved if outcome.to_state is State.APPROVED else waiting).append(application_id)
    uow.flush()
    return BatchOutcome(approved, waiting, skipped)


@dataclass(frozen=True)
class BatchLine:
    """One ticked application's result, as the reviewer's page lists it."""

    application_id: int
    number: str  # "" for one the caller may not see (its number is not disclosed)
    result: str  # approved | awaiting_funds | skipped
    reason: str  # why it was skipped (a BATCH_SKIP_LABELS_ZH key), else ""


def batch_approve_lines(uow: UnitOfWork, *, principal: Principal, application_ids: list[int]) -> list[BatchLine]:
    """Batch-approve (see batch_approve) and report each ticked application in the order ticked."""
    outcome = batch_approve(uow, principal=principal, application_ids=application_ids)
    shown = [i for i in application_ids if outcome.skipped.get(i) != "not_found"]
    numbers = {i: n for i, n in uow.session.execute(select(Application.id, Application.number)
                                                    .where(Application.id.in_(shown)))} if shown else {}
    approved, waiting = set(outcome.approved), set(outcome.awaiting_funds)
    return [BatchLine(i, numbers.get(i, ""), "approved" if i in approved else "awaiting_funds" if i in waiting
                      else "skipped", outcome.skipped.get(i, "")) for i in application_ids]
