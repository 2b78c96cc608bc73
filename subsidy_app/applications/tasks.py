"""Application jobs: automatic checks, budget funding, SMS to residents at each state change."""

from __future__ import annotations

from typing import Any

from subsidy_app.applications import checks, review_times, services
from subsidy_app.applications.domain import STATE_LABELS_ZH, State
from subsidy_app.applications.models import Application
from subsidy_app.core.jobs import job
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.messaging.services import notify_person
from subsidy_app.rules.services import version_cache

# What the resident reads at each step (no ID or card numbers: SMS is not a safe channel).
SMS_TEXT = {
    State.SUBMITTED: "您的以旧换新补贴申请 {number} 已提交,正在核验。",
    State.PENDING_REVIEW: "您的补贴申请 {number} 已完成自动核验,等待审核。",
    State.RETURNED: "您的补贴申请 {number} 需要补正:{reason}。请扫描回执二维码补正。",
    State.AWAITING_FUNDS: "您的补贴申请 {number} 已审核通过,资金到位后将按提交顺序发放。",
    State.APPROVED: "您的补贴申请 {number} 已审核通过,补贴 {amount} 元将发放至您的银行卡。",
    State.PAID: "您的补贴申请 {number} 补贴 {amount} 元已发放,请查收。",
    State.REJECTED: "很抱歉,您的补贴申请 {number} 未通过:{reason}。",
    State.REVOKED: "您的补贴申请 {number} 已被撤销:{reason}。",
    State.WITHDRAWN: "您的补贴申请 {number} 已撤回。",
}


@job("applications.run_checks")
def run_checks(uow: UnitOfWork, application_id: int) -> None:
    """Run the automatic checks of an application."""
    checks.run_checks(uow, application_id=application_id, versions=version_cache().versions(uow))


@job("applications.keep_review_weeks")
def keep_review_weeks(uow: UnitOfWork, **_: Any) -> None:
    """Keep the review-time figures of the weeks that have ended (beat: daily; the dashboard reads them)."""
    review_times.keep_weeks(uow)


@job("applications.budget_funded")
def budget_funded(uow: UnitOfWork, reference: str) -> None:
    """Approve an application whose waiting reservation was funded."""
    services.on_budget_funded(uow, reference=reference)


@job("applications.notify_residents")
def notify_residents(uow: UnitOfWork, changes: list[list[object]]) -> None:
    """Text each resident whose application changed state in one transaction ([application id, state] pairs)."""
    for application_id, state in changes:
        notify_resident(uow, application_id=int(str(application_id)), state=str(state))


@job("applications.notify_resident")
def notify_resident(uow: UnitOfWork, application_id: int, state: str) -> None:
    """Tell the resident by SMS that their application changed state (also runs jobs queued one per change)."""
    template = SMS_TEXT.get(State(state))
    app = uow.session.get(Application, application_id)
    if template is None or app is None or app.person_id is None:  # a dealer statement has no resident to tell
        return
    text = template.format(number=app.number, amount=f"{app.amount:.2f}", reason=app.last_reason or "见状态页",
                           state=STATE_LABELS_ZH[State(state)])
    notify_person(uow, person_id=app.person_id, text=text, purpose=f"application.{state}")
