"""Complaint jobs: the resident's text at each step of her case, and the daily flagging of overdue cases."""

from __future__ import annotations

from typing import Any

from subsidy_app.core.jobs import job
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.messaging.services import notify_person
from subsidy_app.oversight import complaint_services
from subsidy_app.oversight.complaint_domain import KIND_LABELS_ZH, CaseAction, CaseKind
from subsidy_app.oversight.complaint_models import ComplaintCase, ComplaintStep

SYSTEM = "system:complaints"
# What the resident reads at each step (no ID or card numbers: SMS is not a safe channel).
SMS_TEXT = {
    CaseAction.FILE: "您的{kind} {number} 已受理,我们将在 {deadline} 前答复。",
    CaseAction.ASSIGN: "您的{kind} {number} 已分派专人处理。",
    CaseAction.ANSWER: "您的{kind} {number} 已答复:{note}",
    CaseAction.CLOSE: "您的{kind} {number} 已办结。如有疑问请扫描申请回执二维码查看。",
    CaseAction.DECIDE: "您的申诉 {number} 复审结论:{note}",
}


@job("oversight.case_notify")
def case_notify(uow: UnitOfWork, step_id: int) -> None:
    """Text the resident about one step of her case."""
    step = uow.session.get(ComplaintStep, step_id)
    case = uow.session.get(ComplaintCase, step.case_id) if step is not None else None
    template = SMS_TEXT.get(CaseAction(step.action)) if step is not None else None
    if step is None or case is None or case.person_id is None or template is None:
        return
    text = template.format(kind=KIND_LABELS_ZH[CaseKind(case.kind)], number=case.number,
                           deadline=f"{case.deadline:%Y-%m-%d}", note=(step.note or "见状态页")[:200])
    notify_person(uow, person_id=case.person_id, text=text, purpose=f"complaint.{step.action}")


@job("oversight.flag_overdue_cases")
def flag_overdue_cases(uow: UnitOfWork, **_: Any) -> None:
    """Flag complaints and appeals past their deadline for staff (beat: daily; texts nobody)."""
    complaint_services.flag_overdue(uow, actor=SYSTEM)
