"""The work queue's filter from a page's query string (every bad field reported beside it at once), and the review
deadlines in force from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from subsidy_app.applications import check_text
from subsidy_app.applications import form_input as f
from subsidy_app.applications.domain import State
from subsidy_app.applications.queue_queries import (
    ASSIGNED,
    SORTS,
    Deadlines,
    QueueFilter,
    categories,
    review_deadlines,
)
from subsidy_app.config import Settings
from subsidy_app.core.errors import FieldErrors, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.core.working_days import WorkingCalendar
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

LABELS = {"state": "状态", "county": "区县", "programme": "项目", "category": "品类", "dealer_org": "经销商",
          "from": "提交日期起", "to": "提交日期止", "failed_check": "未通过的核验", "fraud": "风险提示",
          "assigned": "分派", "assignee": "审核员", "overdue": "超期", "q": "搜索", "sort": "排序", "page": "页码"}
# Failed-check filter: each titled check, then each family (a fraud signal has its own filter).
FAILED_CHECKS = {**check_text.TITLES, **{family: f"{label}(任一项)" for family, label in check_text.FAMILIES.items()
                                         if family != "fraud"}}


def _optional(args: Mapping[str, str], name: str, allowed: Mapping[str, str]) -> str | None:
    value = f.text(args, name, max_length=60)
    if value and value not in allowed:
        raise ValidationFailed.field(name, "请从列表中选择 / choose one of the listed values")
    return value or None


def _date(args: Mapping[str, str], name: str) -> dt.date | None:
    return f.date(args, name) if f.text(args, name, max_length=20) else None


def _whole(args: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = f.text(args, name, max_length=20)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed.field(name, "应为正整数 / must be a positive whole number")
    return int(raw)


def _flag(args: Mapping[str, str], name: str) -> bool:
    return _optional(args, name, {"1": ""}) == "1"


def read_filter(args: Mapping[str, str], *, default_state: State | None) -> QueueFilter:
    """Read the queue's filter ("all" states, or the role's default queue when no state is given)."""
    errors = FieldErrors()
    states = {s.value: "" for s in State} | {"all": ""}
    chosen_state = errors.value(lambda: _optional(args, "state", states), None)
    state = default_state if chosen_state is None else None if chosen_state == "all" else State(chosen_state)
    chosen = QueueFilter(
        state=state,
        county=errors.value(lambda: _optional(args, "county", COUNTIES), None),
        programme=errors.value(lambda: _optional(args, "programme", PROGRAMME_LABELS_ZH), None),
        category=errors.value(lambda: _optional(args, "category", categories()), None),
        dealer_org_id=errors.value(lambda: _whole(args, "dealer_org", None), None),
        submitted_from=errors.value(lambda: _date(args, "from"), None),
        submitted_to=errors.value(lambda: _date(args, "to"), None),
        failed_check=errors.value(lambda: _optional(args, "failed_check", FAILED_CHECKS), None),
        fraud=errors.value(lambda: _flag(args, "fraud"), False),
        assigned=errors.value(lambda: _optional(args, "assigned", ASSIGNED), None),
        assignee_id=errors.value(lambda: _whole(args, "assignee", None), None),
        overdue=errors.value(lambda: _flag(args, "overdue"), False),
        search=errors.value(lambda: f.text(args, "q", max_length=40), ""),
        sort=errors.value(lambda: _optional(args, "sort", SORTS), None) or "oldest",
        page=errors.value(lambda: _whole(args, "page", None), None) or 1,
    )
    if chosen.submitted_from and chosen.submitted_to and chosen.submitted_from > chosen.submitted_to:
        errors.add("to", "止日不能早于起日 / the end date is before the start date")
    errors.raise_any()
    return chosen


def deadlines_in_force(uow: UnitOfWork, settings: Settings) -> Deadlines:
    """The review deadlines the settings and the rule data give: the operator's overrides over each rule version's
    own limit, working days counted on the configured calendar (the work queue and the overdue list share it)."""
    return review_deadlines(uow, default_days=settings.review_deadline_days,
                            by_programme=settings.review_deadline_by_programme,
                            calendar=WorkingCalendar.of(settings.public_holidays, settings.makeup_workdays))
