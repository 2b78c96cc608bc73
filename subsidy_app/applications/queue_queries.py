"""The reviewers' work queue: filters, search, sort and pages, counts per state, each item's age and deadline."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import aliased

from subsidy_app.applications.domain import STATE_LABELS_ZH, State
from subsidy_app.applications.kinds import registered_kinds
from subsidy_app.applications.models import Application, ApplicationCheck, CarSale
from subsidy_app.core.clock import business_date, day_start
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.working_days import MONDAY_TO_FRIDAY, WorkingCalendar
from subsidy_app.identity import organisations, persons
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import OrgKind, Principal
from subsidy_app.rules import services as rules
from subsidy_app.rules.domain import ReviewLimit

PAGE_SIZE = 50
# Where an application waits for a reviewer: only here does its age count against the review deadline.
AWAITING_REVIEW = frozenset({State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW})
SORTS: dict[str, str] = {"oldest": "提交时间(早→晚)", "newest": "提交时间(晚→早)", "amount_desc": "金额(高→低)",
                         "amount_asc": "金额(低→高)", "number": "申请编号"}
ASSIGNED = {"me": "分派给我的", "none": "未分派的"}
_ID_TAIL = re.compile(r"\d{3}[\dXx]")
_FULL_ID = re.compile(r"\d{17}[\dXx]")


# When neither the operator nor the application's rule version states a limit (DOMAIN.md: local limits unconfirmed).
DEFAULT_REVIEW_LIMIT = ReviewLimit(days=15)


@dataclass(frozen=True)
class Deadlines:
    """How long a review may take after submission, per application; which limit wins, first to last:

    1. the operator's per-programme override (REVIEW_DEADLINE_BY_PROGRAMME),
    2. the operator's override for every programme (REVIEW_DEADLINE_DAYS, when set),
    3. the `review` limit of the application's rule version (rule data),
    4. DEFAULT_REVIEW_LIMIT (15 calendar days) for a version that states none.
    Operator overrides are calendar days; a rule version may state working days (counted in `calendar`)."""

    default_days: int | None = None  # REVIEW_DEADLINE_DAYS: None unless the operator set it
    by_programme: Mapping[str, int] = field(default_factory=dict)
    by_version: Mapping[str, ReviewLimit] = field(default_factory=dict)
    calendar: WorkingCalendar = MONDAY_TO_FRIDAY  # how working-day limits count (PUBLIC_HOLIDAYS, MAKEUP_WORKDAYS)

    def limit_for(self, programme: str, version_code: str | None = None) -> ReviewLimit:
        """The limit an application of this programme and rule version is held to."""
        if programme in self.by_programme:
            return ReviewLimit(days=self.by_programme[programme])
        if self.default_days is not None:
            return ReviewLimit(days=self.default_days)
        return self.by_version.get(version_code or "", DEFAULT_REVIEW_LIMIT)

    def days_for(self, programme: str, version_code: str | None = None) -> int:
        """The deadline in days (or working days) of an application."""
        return self.limit_for(programme, version_code).days

    def overrides(self) -> list[tuple[str, ReviewLimit]]:
        """The operator's overrides as the queue page lists them ("*" for every programme)."""
        found = [(p, ReviewLimit(days=d)) for p, d in self.by_programme.items()]
        return found + ([("*", ReviewLimit(days=self.default_days))] if self.default_days is not None else [])

    def late(self, today: dt.date) -> ColumnElement[bool]:
        """Submitted before its limit's first not-yet-late day (whole Beijing days), by programme and version."""
        def before(limit: ReviewLimit) -> ColumnElement[bool]:
            return Application.submitted_at < day_start(limit.late_before(today, self.calendar))
        special = [and_(Application.programme == p, before(ReviewLimit(days=d))) for p, d in self.by_programme.items()]
        rest: list[ColumnElement[bool]] = [Application.programme.not_in(list(self.by_programme))] \
            if self.by_programme else []
        if self.default_days is not None:
            return or_(and_(*rest, before(ReviewLimit(days=self.default_days))), *special)
        grouped: dict[ReviewLimit, list[str]] = {}
        for code, limit in self.by_version.items():
            grouped.setdefault(ReviewLimit(limit.days, limit.working_days), []).append(code)
        stated = [and_(*rest, Application.version_code.in_(sorted(codes)), before(limit))
                  for limit, codes in grouped.items()]
        unstated = and_(*rest, or_(Application.version_code.is_(None),
                                   Application.version_code.not_in(sorted(self.by_version))),
                        before(DEFAULT_REVIEW_LIMIT))
        return or_(unstated, *stated, *special)


def review_deadlines(uow: UnitOfWork, *, default_days: int | None, by_programme: Mapping[str, int],
                     calendar: WorkingCalendar = MONDAY_TO_FRIDAY) -> Deadlines:
    """The deadlines in force: the operator's overrides and each published rule version's stated limit."""
    by_version = {v.code: v.review for v in rules.version_cache().versions(uow) if v.review is not None}
    return Deadlines(default_days, dict(by_programme), by_version, calendar)


@dataclass(frozen=True)
class QueueFilter:
    """What a reviewer narrowed the queue to; None or empty means no narrowing."""

    state: State | None = None
    county: str | None = None
    programme: str | None = None
    category: str | None = None
    dealer_org_id: int | None = None
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    failed_check: str | None = None  # a check's code (its family, e.g. "rule", matches every clause)
    fraud: bool = False  # only applications showing a fraud signal
    assigned: str | None = None  # "me" or "none"
    assignee_id: int | None = None  # one reviewer's (the overdue list's drill-down)
    overdue: bool = False
    search: str = ""
    sort: str = "oldest"
    page: int = 1


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue with the counts per state under the same filters (the state aside)."""

    rows: list[dict[str, Any]]
    counts: dict[str, int]
    total: int
    page: int
    pages: int
    dealers: dict[int, str]
    deadlines: Deadlines


def scope_of(principal: Principal) -> ColumnElement[bool]:
    """The applications a principal may see: a dealer its own, county staff their counties'."""
    if principal.organisation_kind is OrgKind.DEALER:
        return Application.dealer_org_id == principal.organisation_id
    if principal.all_counties:
        return true()
    return Application.county_code.in_(sorted(principal.counties))


def _failed(code_prefix: str) -> ColumnElement[bool]:
    """A check of the latest run that failed and nobody accepted by hand, whose code starts with the prefix."""
    latest = aliased(ApplicationCheck)
    last_run = select(func.max(latest.run)).where(latest.application_id == Application.id).scalar_subquery()
    return exists().where(ApplicationCheck.application_id == Application.id, ApplicationCheck.run == last_run,
                          ApplicationCheck.passed.is_(False), ApplicationCheck.overridden_by.is_(None),
                          ApplicationCheck.code.startswith(code_prefix, autoescape=True))


def _overdue(deadlines: Deadlines, today: dt.date) -> ColumnElement[bool]:
    """Waiting for a reviewer longer than its deadline (in whole Beijing days)."""
    return and_(Application.state.in_([s.value for s in AWAITING_REVIEW]), deadlines.late(today))


def _search(uow: UnitOfWork, term: str) -> ColumnElement[bool]:
    """Match the number (its start), a VIN, an ID tail or full ID, a car invoice, or a kind's own keys."""
    key = "".join(term.split()).upper()
    found: list[ColumnElement[bool]] = [Application.number.startswith(key, autoescape=True),
                                        Application.new_vin == key, Application.old_vin == key,
                                        Application.sale_id.in_(select(CarSale.id).where(or_(
                                            CarSale.invoice_key == key,
                                            CarSale.invoice_key.endswith("-" + key, autoescape=True))))]
    if _ID_TAIL.fullmatch(key):
        found.append(Application.person_id.in_(persons.ids_with_id_tail(key)))
    if _FULL_ID.fullmatch(key):
        try:
            person_id = persons.find_person_id(uow, id_number=key)
        except ValidationFailed:  # eighteen characters that are no ID number: searched as the other keys only
            person_id = None
        if person_id is not None:
            found.append(Application.person_id == person_id)
    for kind in registered_kinds().values():
        sales = kind.search_sales(key)
        if sales is not None:
            found.append(Application.appliance_sale_id.in_(sales))
    return or_(*found)


def _conditions(uow: UnitOfWork, principal: Principal, chosen: QueueFilter, deadlines: Deadlines,
                today: dt.date) -> list[ColumnElement[bool]]:
    where = [scope_of(principal)]
    if chosen.county:
        where.append(Application.county_code == chosen.county)
    if chosen.programme:
        where.append(Application.programme == chosen.programme)
    if chosen.category:
        where.append(Application.category == chosen.category)
    if chosen.dealer_org_id is not None:
        where.append(Application.dealer_org_id == chosen.dealer_org_id)
    if chosen.submitted_from:
        where.append(Application.submitted_at >= day_start(chosen.submitted_from))
    if chosen.submitted_to:
        where.append(Application.submitted_at < day_start(chosen.submitted_to + dt.timedelta(days=1)))
    if chosen.failed_check:
        where.append(_failed(chosen.failed_check))
    if chosen.fraud:
        where.append(_failed("fraud."))
    if chosen.assigned == "me":
        where.append(Application.assigned_to == principal.account_id if principal.account_id else false())
    elif chosen.assigned == "none":
        where.append(Application.assigned_to.is_(None))
    if chosen.assignee_id is not None:
        where.append(Application.assigned_to == chosen.assignee_id)
    if chosen.overdue:
        where.append(_overdue(deadlines, today))
    if chosen.search.strip():
        where.append(_search(uow, chosen.search))
    return where


def _ordered(query: Select[Application], sort: str) -> Select[Application]:
    orders = {"oldest": (Application.submitted_at, Application.id),
              "newest": (Application.submitted_at.desc(), Application.id.desc()),
              "amount_desc": (Application.amount.desc(), Application.id),
              "amount_asc": (Application.amount, Application.id), "number": (Application.number,)}
    return query.order_by(*orders.get(sort, orders["oldest"]))


def _row(app: Application, today: dt.date, deadlines: Deadlines, names: dict[int, str]) -> dict[str, Any]:
    limit = deadlines.limit_for(app.programme, app.version_code)
    age, due = limit.age(business_date(app.submitted_at), today, deadlines.calendar), limit.days
    return {"id": app.id, "number": app.number, "programme": app.programme, "category": app.category,
            "state": app.state, "state_label": STATE_LABELS_ZH[State(app.state)], "county_code": app.county_code,
            "amount": app.amount, "needs_second_review": app.needs_second_review,
            "first_reviewer_id": app.first_reviewer_id, "submitted_at": app.submitted_at,
            "dealer_org_id": app.dealer_org_id, "age_days": age, "deadline_days": due,
            "deadline_label": limit.label_zh(), "age_unit": "个工作日" if limit.working_days else "天",
            "overdue": State(app.state) in AWAITING_REVIEW and age > due,
            "assigned_to": app.assigned_to, "assignee": names.get(app.assigned_to or 0, "")}


def work_queue(uow: UnitOfWork, *, principal: Principal, chosen: QueueFilter, deadlines: Deadlines) -> QueuePage:
    """One page of the caller's queue, its counts per state (one grouped query) and the filter's dealer list."""
    today = business_date()
    where = _conditions(uow, principal, chosen, deadlines, today)
    counts = {state: n for state, n in uow.session.execute(
        select(Application.state, func.count()).where(*where).group_by(Application.state))}
    total = counts.get(chosen.state.value, 0) if chosen.state else sum(counts.values())
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(chosen.page, 1), pages)
    query = select(Application).where(*where)
    if chosen.state is not None:
        query = query.where(Application.state == chosen.state.value)
    apps = list(uow.session.scalars(_ordered(query, chosen.sort).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    names = identity.account_names(uow, {a.assigned_to for a in apps if a.assigned_to is not None})
    dealers = organisations.dealers_in(uow, counties=None if principal.all_counties else principal.counties)
    return QueuePage([_row(a, today, deadlines, names) for a in apps], counts, total, page, pages, dealers,
                     deadlines)


def categories() -> dict[str, str]:
    """The categories the registered kinds store, with their Chinese labels, for the queue's filter."""
    return {value: label for kind in registered_kinds().values() for value, label in kind.categories}
