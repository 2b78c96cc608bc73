"""What the review-deadline page and endpoints read: the deadlines in force, days, a county in the caller's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from subsidy_app.applications import queue_input, queue_queries
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import FieldErrors, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES, Principal
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH
from subsidy_app.runtime import Runtime

MAX_DAYS = 731  # two years of weeks is what the chart can still show legibly
LABELS = {"from": "开始日期", "to": "结束日期", "county": "县(市、区)", "programme": "项目"}


def deadlines(tx: UnitOfWork, runtime: Runtime) -> queue_queries.Deadlines:
    """The review deadlines in force: the operator's overrides over each rule version's own limit."""
    return queue_input.deadlines_in_force(tx, runtime.settings)


def counties(principal: Principal, county: str | None) -> tuple[str, ...]:
    """The counties asked for: the caller's own, or one of them; a county outside the scope is not found."""
    if county is None:
        return tuple(c for c in COUNTIES if principal.covers_county(c))
    if county not in COUNTIES or not principal.covers_county(county):
        raise NotFound("没有这个县(市、区)或不在您的管辖范围内 / no such county in your scope",
                       reason="oversight.county_not_found")
    return (county,)


def _day(args: Mapping[str, str], name: str) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.field(name, f"{LABELS[name]}格式应为 YYYY-MM-DD / {name} must be YYYY-MM-DD") from None


def page_days(args: Mapping[str, str]) -> tuple[dt.date, dt.date]:
    """The page's range of decision days from its query string; every bad field at once."""
    errors = FieldErrors()
    date_from = errors.value(lambda: _day(args, "from"), None)
    date_to = errors.value(lambda: _day(args, "to"), None)
    errors.raise_any()
    return days(date_from, date_to)


def days(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The range of decision days, both inclusive (default: the twelve weeks up to today)."""
    date_to = date_to or business_date()
    date_from = date_from or date_to - dt.timedelta(weeks=12)
    if date_from > date_to:
        raise ValidationFailed.field("from", "开始日期不能晚于结束日期 / from is after to")
    if (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed.field("from", "日期范围最长两年 / the range is at most two years")
    return date_from, date_to


def programme(args: Mapping[str, str]) -> str | None:
    """A programme to narrow to, or None for every programme."""
    chosen = (args.get("programme") or "").strip() or None
    if chosen is not None and chosen not in PROGRAMME_LABELS_ZH:
        raise ValidationFailed.field("programme", "请从列表中选择 / choose one of the listed programmes")
    return chosen
