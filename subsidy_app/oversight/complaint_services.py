"""Complaints and appeals: filing (status page or phone), assigning, answering, closing, the appeal's reopening
of a refused application and its outcome; every step through `_step`, audited, and texted to the resident."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from subsidy_app.applications import queries as applications
from subsidy_app.applications import services as application_services
from subsidy_app.applications.domain import Action, State, Step
from subsidy_app.audit import services as audit
from subsidy_app.config import Settings
from subsidy_app.core import constraints
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.text import checked_text
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES, Principal, Role
from subsidy_app.oversight.complaint_domain import (
    TEXT_MAX,
    CaseAction,
    CaseKind,
    CaseRefused,
    CaseState,
    Category,
    Channel,
    Outcome,
    WorkingCalendar,
    appeal_open_until,
    plan,
)
from subsidy_app.oversight.complaint_models import ComplaintCase, ComplaintStep

NOTIFY_JOB = "oversight.case_notify"
HANDLERS = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN})  # county bureau staff who work cases
DISPATCHERS = frozenset({Role.SENIOR_AUDITOR, Role.ADMIN})  # who give a case to someone else


@dataclass(frozen=True)
class Terms:
    """The configured deadline, calendar and appeal window (config.py)."""

    working_days: int
    calendar: WorkingCalendar
    appeal_window_days: int


def terms_from(settings: Settings) -> Terms:
    """The configured deadline, working calendar and appeal window."""
    return Terms(settings.complaint_deadline_working_days,
                 WorkingCalendar.of(settings.public_holidays, settings.makeup_workdays),
                 settings.appeal_window_days)


@dataclass(frozen=True)
class Filed:
    """A filed case: its number, state and, for an appeal, what happened to the application."""

    case_id: int
    number: str
    state: str
    outcome: str | None
    needs_city: bool
    reopen_refused: str | None  # why the application could not be reopened (Chinese / English), if it could not


def _category(raw: str, errors: FieldErrors) -> Category:
    try:
        return Category(raw)
    except ValueError:
        errors.add("category", "请选择投诉类别 / choose a category", reason="category.unknown")
        return Category.OTHER


def _text(raw: str | None, errors: FieldErrors) -> str:
    text = errors.value(lambda: checked_text(raw, field="text", max_length=TEXT_MAX, multiline=True), "")
    if not text and not errors.refused("text"):
        errors.add("text", "请填写投诉或申诉内容 / please describe the matter", reason="text.required")
    return text


def _new_case(uow: UnitOfWork, *, kind: CaseKind, category: Category, channel: Channel, text: str,
              county_code: str, terms: Terms, actor: str, application_id: int | None, person_id: int | None,
              contact_ok: bool) -> ComplaintCase:
    now = utcnow()
    case = ComplaintCase(
        number=secrets.token_hex(12), kind=kind.value, category=category.value, channel=channel.value,
        application_id=application_id, person_id=person_id, county_code=county_code,
        text_enc=uow.cipher.encrypt(text), contact_ok=contact_ok, state=CaseState.OPEN.value,
        deadline=terms.calendar.add_working_days(business_date(now), terms.working_days), filed_by=actor,
        filed_at=now, updated_at=now)
    uow.session.add(case)
    try:
        uow.flush()  # one open appeal per application: the partial unique index decides a double submit
    except IntegrityError as exc:
        raise constraints.error_for(exc) from None
    prefix = "SS" if kind is CaseKind.APPEAL else "TS"
    case.number = f"{prefix}{business_date(now):%Y}{case.id:06d}"
    _record(uow, case, CaseAction.FILE, None, actor, note=None)
    return case


def _record(uow: UnitOfWork, case: ComplaintCase, action: CaseAction, from_state: CaseState | None, actor: str,
            *, note: str | None, after: dict[str, object] | None = None) -> None:
    """Write a case's step, its audit event and the resident's text (the case's one history)."""
    step = ComplaintStep(case_id=case.id, action=action.value, from_state=from_state.value if from_state else None,
                         to_state=case.state, actor=actor, note=note)
    uow.session.add(step)
    uow.flush()
    audit.record(uow, actor=actor, action=f"complaint.{action.value}", entity_type="complaint_case",
                 entity_id=case.id, before=None if from_state is None else {"state": from_state.value},
                 after={"state": case.state, "number": case.number, **(after or {})})
    # The resident is texted at each step but her own withdrawal and a case changing hands again.
    if case.person_id is not None and action is not CaseAction.WITHDRAW and (
            action is not CaseAction.ASSIGN or from_state is CaseState.OPEN):
        uow.enqueue(NOTIFY_JOB, step_id=step.id)


def _step(uow: UnitOfWork, case: ComplaintCase, action: CaseAction, actor: str, *, note: str | None = None,
          after: dict[str, object] | None = None) -> None:
    """Move a case through its state table (the only writer of a case's state)."""
    current = CaseState(case.state)
    try:
        case.state = plan(current, action).value
    except CaseRefused as refused:
        raise Conflict(refused.why, reason="complaint.invalid_transition") from None
    case.updated_at = utcnow()
    if case.state in (CaseState.CLOSED, CaseState.WITHDRAWN):
        case.closed_at = case.updated_at
    _record(uow, case, action, current, actor, note=note, after=after)


def file_from_status(uow: UnitOfWork, *, status_code: str, person_id: int, kind: str, category: str,
                     text: str | None, contact_ok: bool, terms: Terms) -> Filed:
    """A resident files a complaint or an appeal about her own application from its status page."""
    subject = applications.case_subject(uow, status_code=status_code)
    if subject is None or subject.person_id != person_id:
        raise NotFound("申请不存在 / application not found", reason="application.not_found")
    errors = FieldErrors()
    chosen = CaseKind.APPEAL if kind == CaseKind.APPEAL.value else CaseKind.COMPLAINT
    if kind not in (CaseKind.APPEAL.value, CaseKind.COMPLAINT.value):
        errors.add("kind", "请选择投诉或申诉 / choose a complaint or an appeal", reason="kind.unknown")
    cat = _category(category, errors)
    body = _text(text, errors)
    if chosen is CaseKind.APPEAL and not errors.refused("kind"):
        why = appeal_refusal(subject, terms=terms)
        if why is not None:
            errors.add("kind", why, reason="appeal.not_open")
    errors.raise_any()
    case = _new_case(uow, kind=chosen, category=cat, channel=Channel.STATUS_PAGE, text=body,
                     county_code=subject.county_code, terms=terms, actor=f"person:{person_id}",
                     application_id=subject.id, person_id=person_id, contact_ok=contact_ok)
    refused = _reopen(uow, case, subject) if chosen is CaseKind.APPEAL else None
    return Filed(case.id, case.number, case.state, case.outcome, case.needs_city, refused)


def appeal_refusal(subject: applications.CaseSubject, *, terms: Terms) -> str | None:
    """Say why this application cannot be appealed now (not refused, or the window has passed), else None."""
    if subject.state != State.REJECTED.value or subject.refused_at is None:
        return "只有未通过的申请可以申诉 / only a refused application can be appealed"
    last = appeal_open_until(business_date(subject.refused_at), terms.appeal_window_days)
    if business_date() > last:
        return (f"申诉期限已过(不予通过后 {terms.appeal_window_days} 日内,截至 {last:%Y-%m-%d})/ the appeal window "
                f"closed on {last:%Y-%m-%d}")
    return None


def _reopen(uow: UnitOfWork, case: ComplaintCase, subject: applications.CaseSubject) -> str | None:
    """Reopen the refused application for a second review; when what it named is taken, answer the case why."""
    blocker = application_services.reopen_blocker(uow, application_id=subject.id)
    actor = "system:appeals"
    if blocker is not None:
        reply = f"申请无法恢复复审:{blocker.message}"
        case.reply, case.outcome = reply[:500], Outcome.NOT_REOPENED.value
        _step(uow, case, CaseAction.ANSWER, actor, note=case.reply, after={"outcome": case.outcome})
        return blocker.message
    reopened = application_services.reopen(uow, application_id=subject.id, actor=actor,
                                           reason=f"申诉 {case.number} / appeal {case.number}")
    if reopened.assigned_to is None:
        case.needs_city = True  # nobody in the county may decide it: the city bureau steps in
    case.assignee_id = reopened.assigned_to
    _step(uow, case, CaseAction.ASSIGN, actor, after={"assignee": case.assignee_id, "needs_city": case.needs_city,
                                                      "application": subject.number})
    return None


def on_application_decided(uow: UnitOfWork, application_id: int, step: Step, reason: str | None) -> None:
    """Close a reopened application's appeal with the second review's outcome (listener of its transitions)."""
    if step.from_state is not State.PENDING_SECOND_REVIEW or step.action not in (
            Action.APPROVE_SECOND, Action.REJECT, Action.WITHDRAW):
        return
    case = uow.session.scalar(select(ComplaintCase).where(
        ComplaintCase.application_id == application_id, ComplaintCase.kind == CaseKind.APPEAL.value,
        ComplaintCase.state.not_in([CaseState.CLOSED.value, CaseState.WITHDRAWN.value]),
        ComplaintCase.outcome.is_(None)).with_for_update())
    if case is None:
        return
    upheld = step.action is Action.APPROVE_SECOND
    case.outcome = (Outcome.UPHELD if upheld else Outcome.DISMISSED).value
    case.reply = ("申诉成立,申请已通过复审。" if upheld else
                  f"申诉不成立,维持不予通过:{reason or '见状态页'}")[:500]
    _step(uow, case, CaseAction.DECIDE, "system:appeals", note=case.reply, after={"outcome": case.outcome})


def file_by_phone(uow: UnitOfWork, *, principal: Principal, category: str, text: str | None,
                  application_number: str | None, county_code: str | None, terms: Terms) -> Filed:
    """A clerk records a resident's phone complaint, naming the application if the resident gave its number."""
    _handler(principal)
    errors = FieldErrors()
    cat = _category(category, errors)
    body = _text(text, errors)
    subject = None
    number = (application_number or "").strip().upper()
    if number:
        subject = applications.case_subject(uow, number=number)
        if subject is None or not principal.covers_county(subject.county_code):
            errors.add("application_number", "申请编号不存在或不在您的管辖范围 / no such application in your counties",
                       reason="application.not_found")
    county = subject.county_code if subject is not None else (county_code or "")
    if subject is None and not errors.refused("application_number") and (
            county not in COUNTIES or not principal.covers_county(county)):
        errors.add("county", "请选择您管辖的区县 / choose one of your counties", reason="county.unknown")
    errors.raise_any()
    case = _new_case(uow, kind=CaseKind.COMPLAINT, category=cat, channel=Channel.PHONE, text=body,
                     county_code=county, terms=terms, actor=principal.actor,
                     application_id=subject.id if subject else None,
                     person_id=subject.person_id if subject else None, contact_ok=True)
    return Filed(case.id, case.number, case.state, None, False, None)


def _handler(principal: Principal) -> None:
    if principal.kind != "staff" or not principal.has_any(HANDLERS):
        raise Forbidden("只有区县审核人员可以处理投诉 / only county bureau staff handle complaints")


def locked_case(uow: UnitOfWork, *, principal: Principal, case_id: int, lock: bool = True) -> ComplaintCase:
    """Lock (or just read) a case in the caller's counties (404 for any other: its existence is not disclosed)."""
    stmt = select(ComplaintCase).where(ComplaintCase.id == case_id)
    case = uow.session.scalar(stmt.with_for_update() if lock else stmt)
    if case is None or principal.kind != "staff" or not principal.covers_county(case.county_code):
        raise NotFound("案件不存在或不在您的管辖范围 / case not found or outside your counties",
                       reason="complaint.not_found")
    return case


def assign(uow: UnitOfWork, *, principal: Principal, case_id: int, assignee_id: int | None) -> None:
    """Give a case to a reviewer of its county (oneself, or another by a senior auditor or admin)."""
    _handler(principal)
    case = locked_case(uow, principal=principal, case_id=case_id)
    target = assignee_id if assignee_id is not None else principal.account_id
    if target != principal.account_id and not principal.has_any(DISPATCHERS):
        raise Forbidden("只有复核员或管理员可以分派给他人 / only a senior auditor or an admin assigns to others")
    if target not in identity.reviewers_of(uow, county_code=case.county_code):
        raise ValidationFailed.field("assignee", "请选择本区县的审核员或复核员 / choose an auditor of this county",
                                     reason="assignee.not_a_reviewer")
    before, case.assignee_id = case.assignee_id, target
    _step(uow, case, CaseAction.ASSIGN, principal.actor, after={"assignee": target, "before": before})


def answer(uow: UnitOfWork, *, principal: Principal, case_id: int, reply: str | None) -> None:
    """Answer a case: the reply is what the resident reads on the status page and by SMS."""
    _handler(principal)
    case = locked_case(uow, principal=principal, case_id=case_id)
    text = checked_text(reply, field="reply", max_length=TEXT_MAX, multiline=True)
    if not text:
        raise ValidationFailed.field("reply", "请填写答复内容 / please write the reply", reason="reply.required")
    if case.kind == CaseKind.APPEAL.value and case.outcome is None:
        raise Conflict("申诉在复审结束时自动答复 / an appeal is answered by its second review's outcome",
                       reason="appeal.under_review")
    case.reply = text
    _step(uow, case, CaseAction.ANSWER, principal.actor, note=text)


def close(uow: UnitOfWork, *, principal: Principal, case_id: int) -> None:
    """Close an answered case."""
    _handler(principal)
    case = locked_case(uow, principal=principal, case_id=case_id)
    _step(uow, case, CaseAction.CLOSE, principal.actor)


def withdraw(uow: UnitOfWork, *, case_id: int, person_id: int) -> None:
    """The resident withdraws her own case (not an appeal whose application is under its second review)."""
    case = uow.session.scalar(select(ComplaintCase).where(ComplaintCase.id == case_id).with_for_update())
    if case is None or case.person_id != person_id:
        raise NotFound("案件不存在 / case not found", reason="complaint.not_found")
    if case.kind == CaseKind.APPEAL.value and case.outcome is None:
        raise Conflict("申请正在申诉复审中,不能撤回申诉 / the application is under its appeal review",
                       reason="appeal.under_review")
    _step(uow, case, CaseAction.WITHDRAW, f"person:{person_id}")


def flag_overdue(uow: UnitOfWork, *, actor: str, today: dt.date | None = None) -> int:
    """Flag the open cases past their deadline (once each, audited); return how many were flagged."""
    day = today or business_date()
    cases = list(uow.session.scalars(select(ComplaintCase).where(
        ComplaintCase.state.in_([CaseState.OPEN.value, CaseState.IN_PROGRESS.value]),
        ComplaintCase.overdue.is_(False), ComplaintCase.deadline < day)
        .order_by(ComplaintCase.id).with_for_update(skip_locked=True)))
    now = utcnow()
    for case in cases:
        case.overdue, case.overdue_since = True, now
        audit.record(uow, actor=actor, action="complaint.overdue", entity_type="complaint_case", entity_id=case.id,
                     after={"number": case.number, "deadline": case.deadline.isoformat()})
    return len(cases)


# An appeal's outcome follows its application's second review, in the review's own transaction.
application_services.on_transition(on_application_decided)
