"""Assigning an application to a reviewer: taken by oneself, or given to a colleague by a senior auditor."""

from __future__ import annotations

from subsidy_app.applications.domain import State
from subsidy_app.applications.services import load_for_update
from subsidy_app.applications.visibility import may_see_application
from subsidy_app.audit import services as audit
from subsidy_app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import Principal, Role

# Only work still waiting for a reviewer is assigned; a decided application has nobody left to take it.
ASSIGNABLE = frozenset({State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW})
DISPATCHERS = frozenset({Role.SENIOR_AUDITOR, Role.ADMIN})  # who may give work to someone else


def assign(uow: UnitOfWork, *, principal: Principal, application_id: int, assignee_id: int | None) -> None:
    """Assign an application to a reviewer of its county (None: release it); audited with before and after."""
    app = load_for_update(uow, application_id)
    if not may_see_application(principal, app) or principal.kind != "staff":
        raise NotFound("申请不存在或不在您的管辖范围 / not found or outside your scope", reason="not_found")
    if State(app.state) not in ASSIGNABLE:
        raise Conflict("只有待审核、待复核的申请可以分派 / only applications awaiting review can be assigned",
                       reason="application.not_assignable")
    others = {assignee_id, app.assigned_to} - {None, principal.account_id}
    if others and not principal.has_any(DISPATCHERS):
        raise Forbidden("只有复核员或管理员可以分派给他人 / only a senior auditor or an admin assigns to others")
    if assignee_id is not None and assignee_id not in identity.reviewers_of(uow, county_code=app.county_code):
        raise ValidationFailed.field("assignee", "请选择本区县的审核员或复核员 / choose an auditor of this county",
                                     reason="assignee.not_a_reviewer")
    if (assignee_id is not None and app.refused_by is not None and State(app.state) is State.PENDING_SECOND_REVIEW
            and assignee_id in (app.refused_by, app.first_reviewer_id)):  # an appeal's review: someone else
        raise ValidationFailed.field("assignee", "申诉复审不能分派给原审核人 / an appeal is not given to whoever "
                                                 "refused or first reviewed it", reason="assignee.took_part")
    before = app.assigned_to
    app.assigned_to = assignee_id
    audit.record(uow, actor=principal.actor, action="application.assigned", entity_type="application",
                 entity_id=app.id, before={"assigned_to": before}, after={"assigned_to": assignee_id})
