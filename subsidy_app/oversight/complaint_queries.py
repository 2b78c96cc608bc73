"""Reading cases: the staff list with filters and pages, one case with its history, the resident's own cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from subsidy_app.applications import queries as applications
from subsidy_app.applications import staff_queries
from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES, Principal
from subsidy_app.oversight.complaint_domain import (
    ACTION_LABELS_ZH,
    CASE_STATE_LABELS_ZH,
    CATEGORY_LABELS_ZH,
    CHANNEL_LABELS_ZH,
    KIND_LABELS_ZH,
    OUTCOME_LABELS_ZH,
    CaseAction,
    CaseKind,
    CaseState,
    Category,
    Channel,
    Outcome,
)
from subsidy_app.oversight.complaint_models import ComplaintCase, ComplaintStep
from subsidy_app.oversight.complaint_services import locked_case

PAGE_SIZE = 50


@dataclass(frozen=True)
class CaseFilter:
    """The list's filters (None: any)."""

    state: str | None = None
    kind: str | None = None
    category: str | None = None
    county: str | None = None
    overdue: bool | None = None
    assignee: int | None = None


def _row(case: ComplaintCase, names: dict[int, str], numbers: dict[int, str]) -> dict[str, Any]:
    return {
        "id": case.id, "number": case.number, "kind": case.kind, "kind_label": KIND_LABELS_ZH[CaseKind(case.kind)],
        "category": case.category, "category_label": CATEGORY_LABELS_ZH[Category(case.category)],
        "channel": case.channel, "channel_label": CHANNEL_LABELS_ZH[Channel(case.channel)],
        "state": case.state, "state_label": CASE_STATE_LABELS_ZH[CaseState(case.state)],
        "county_code": case.county_code, "county_name": COUNTIES.get(case.county_code, case.county_code),
        "application_id": case.application_id, "application_number": numbers.get(case.application_id or 0),
        "assignee_id": case.assignee_id, "assignee_name": names.get(case.assignee_id or 0),
        "deadline": case.deadline, "overdue": case.overdue, "overdue_since": case.overdue_since,
        "needs_city": case.needs_city, "outcome": case.outcome,
        "outcome_label": OUTCOME_LABELS_ZH[Outcome(case.outcome)] if case.outcome else None,
        "reply": case.reply, "filed_at": case.filed_at, "closed_at": case.closed_at,
    }


def _rows(uow: UnitOfWork, cases: list[ComplaintCase]) -> list[dict[str, Any]]:
    names = identity.account_names(uow, [c.assignee_id for c in cases if c.assignee_id is not None])
    numbers = staff_queries.application_numbers(
        uow, application_ids=[c.application_id for c in cases if c.application_id is not None])
    return [_row(c, names, numbers) for c in cases]


def list_cases(uow: UnitOfWork, *, principal: Principal, chosen: CaseFilter, limit: int = PAGE_SIZE,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Cases in the caller's counties matching the filters, newest first, and how many match."""
    where: list[ColumnElement[bool]] = []
    if not principal.all_counties:
        where.append(ComplaintCase.county_code.in_(sorted(principal.counties)))
    for column, value in ((ComplaintCase.state, chosen.state), (ComplaintCase.kind, chosen.kind),
                          (ComplaintCase.category, chosen.category), (ComplaintCase.county_code, chosen.county),
                          (ComplaintCase.overdue, chosen.overdue), (ComplaintCase.assignee_id, chosen.assignee)):
        if value is not None:
            where.append(column == value)
    total = uow.session.scalar(select(func.count()).select_from(ComplaintCase).where(*where)) or 0
    cases = list(uow.session.scalars(select(ComplaintCase).where(*where).order_by(ComplaintCase.id.desc())
                                     .limit(limit).offset(offset)))
    return _rows(uow, cases), total


def _steps(uow: UnitOfWork, case_id: int) -> list[dict[str, Any]]:
    steps = uow.session.scalars(select(ComplaintStep).where(ComplaintStep.case_id == case_id)
                                .order_by(ComplaintStep.id))
    return [{"action": s.action, "action_label": ACTION_LABELS_ZH[CaseAction(s.action)], "from_state": s.from_state,
             "to_state": s.to_state, "state_label": CASE_STATE_LABELS_ZH[CaseState(s.to_state)], "actor": s.actor,
             "note": s.note, "at": s.at} for s in steps]


def case_detail(uow: UnitOfWork, *, principal: Principal, case_id: int) -> dict[str, Any]:
    """One case for staff of its county: the resident's text unsealed, its history and who may take it."""
    case = locked_case(uow, principal=principal, case_id=case_id, lock=False)
    row = _rows(uow, [case])[0]
    return {**row, "text": uow.cipher.decrypt(case.text_enc), "contact_ok": case.contact_ok,
            "steps": _steps(uow, case.id), "reviewers": identity.reviewers_of(uow, county_code=case.county_code)}


def resident_cases(uow: UnitOfWork, *, status_code: str, person_id: int | None) -> list[dict[str, Any]]:
    """The cases about an application its own resident filed or a clerk recorded, with their replies."""
    subject = applications.case_subject(uow, status_code=status_code)
    if subject is None:
        raise NotFound("申请不存在 / application not found", reason="application.not_found")
    if person_id is None or subject.person_id != person_id:
        return []
    cases = list(uow.session.scalars(select(ComplaintCase).where(ComplaintCase.application_id == subject.id)
                                     .order_by(ComplaintCase.id.desc())))
    return [{**row, "steps": [s for s in _steps(uow, row["id"]) if s["note"] or s["action"] != "assign"]}
            for row in _rows(uow, cases)]


@dataclass(frozen=True)
class CaseCell:
    """Open and overdue cases of one county and category (the dashboard's panel)."""

    county_code: str
    category: str
    open: int
    overdue: int


def open_case_cells(uow: UnitOfWork, *, counties: list[str] | None) -> list[CaseCell]:
    """Count the cases still owed an answer, and those overdue, per county and category."""
    live = [CaseState.OPEN.value, CaseState.IN_PROGRESS.value]
    stmt = (select(ComplaintCase.county_code, ComplaintCase.category, func.count(),
                   func.count().filter(ComplaintCase.overdue.is_(True)))
            .where(ComplaintCase.state.in_(live)).group_by(ComplaintCase.county_code, ComplaintCase.category))
    if counties is not None:
        stmt = stmt.where(ComplaintCase.county_code.in_(counties))
    return [CaseCell(c, k, int(n), int(o)) for c, k, n, o in uow.session.execute(stmt)]
