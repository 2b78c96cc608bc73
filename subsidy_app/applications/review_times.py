"""Review deadlines and review times: applications past their limit per reviewer and county, and the weekly
median and 90th percentile of how long a first decision took, per county."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, select

from subsidy_app.applications.models import Application, ReviewTimeWeek
from subsidy_app.applications.queue_queries import AWAITING_REVIEW, Deadlines, QueueFilter, scope_of
from subsidy_app.core.clock import business_date, day_start
from subsidy_app.core.db import insert_rows
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import COUNTIES, Principal

HOUR = Decimal("0.1")
ZERO_HOURS = Decimal("0.0")
ALL = "*"  # review_time_week's row for every county together


@dataclass(frozen=True)
class OverdueGroup:
    """Applications past their review limit for one reviewer (None: nobody took them) or one county."""

    key: str | None
    label: str
    count: int
    oldest_submitted_at: dt.datetime
    oldest_age_days: int


@dataclass(frozen=True)
class OverdueSummary:
    """Overdue applications of the caller's scope, per reviewer and per county, the largest group first."""

    by_reviewer: list[OverdueGroup]
    by_county: list[OverdueGroup]
    total: int


@dataclass(frozen=True)
class ReviewTimeRow:
    """One county's (or the whole scope's, county None) reviews first decided in one ISO week (Beijing time)."""

    county_code: str | None
    week: dt.date  # the Monday of the ISO week
    reviewed: int
    median_hours: Decimal
    p90_hours: Decimal

    @property
    def iso_week(self) -> str:
        """The week as ISO 8601 writes it, e.g. 2026-W49."""
        year, week, _ = self.week.isocalendar()
        return f"{year}-W{week:02d}"


def overdue_summary(uow: UnitOfWork, *, principal: Principal, deadlines: Deadlines,
                    counties: Collection[str]) -> OverdueSummary:
    """Count the applications awaiting review past their limit, grouped by assignee and by county (two queries)."""
    today = business_date()
    where = [scope_of(principal), Application.county_code.in_(sorted(counties)),
             Application.state.in_([s.value for s in AWAITING_REVIEW]), deadlines.late(today)]

    def grouped(column: Any) -> list[tuple[Any, int, dt.datetime]]:
        query = select(column, func.count(), func.min(Application.submitted_at)).where(*where).group_by(column)
        return [(key, n, oldest) for key, n, oldest in uow.session.execute(query)]

    reviewers = grouped(Application.assigned_to)
    names = identity.account_names(uow, {k for k, _n, _o in reviewers if k is not None})

    def group(key: str | None, label: str, n: int, oldest: dt.datetime) -> OverdueGroup:
        return OverdueGroup(key, label, n, oldest, (today - business_date(oldest)).days)

    by_reviewer = [group(None if k is None else str(k), "未分派" if k is None else names.get(k, f"账户 {k}"), n, o)
                   for k, n, o in reviewers]
    by_county = [group(k, COUNTIES.get(k, k), n, o) for k, n, o in grouped(Application.county_code)]

    def order(g: OverdueGroup) -> tuple[int, dt.datetime]:
        return (-g.count, g.oldest_submitted_at)
    return OverdueSummary(sorted(by_reviewer, key=order), sorted(by_county, key=order),
                          sum(g.count for g in by_county))


def drill_down(group_by: str, key: str | None) -> QueueFilter:
    """The work queue's filter that lists one group's overdue applications."""
    if group_by == "county":
        return QueueFilter(state=None, county=key, overdue=True)
    if key is None:
        return QueueFilter(state=None, assigned="none", overdue=True)
    return QueueFilter(state=None, assignee_id=int(key), overdue=True)


def _first_decisions(counties: Collection[str], date_from: dt.date, date_to: dt.date,
                     programme: str | None) -> Any:
    """Each application first decided within the days, with when it first reached pending review (the two times
    the transition function keeps on the application; a range per county of ix_application_review_time)."""
    conditions: list[ColumnElement[bool]] = [
        Application.first_decided_at >= day_start(date_from),
        Application.first_decided_at < day_start(date_to + dt.timedelta(days=1)),
        Application.county_code.in_(sorted(counties))]
    if programme:
        conditions.append(Application.programme == programme)
    return (select(Application.county_code.label("county_code"), Application.first_decided_at.label("decided_at"),
                   Application.review_started_at.label("reached_at")).where(*conditions).subquery())


def review_times(uow: UnitOfWork, *, counties: Collection[str], date_from: dt.date, date_to: dt.date,
                 programme: str | None = None, per_county: bool = True) -> list[ReviewTimeRow]:
    """Median and 90th percentile review time per county (or pooled) per ISO week, in hours.

    Measured per application: from the first time it reached pending_review (its first application_event with
    to_state pending_review, kept as application.review_started_at) to its first decision after that, the
    earliest approve, reject or return (application.first_decided_at; a second review's approval, a withdrawal
    or a revocation is no first decision). Each application counts once, in the
    ISO week (Monday to Sunday, Beijing time) of that first decision, when the decision falls within
    date_from..date_to (Beijing days, both inclusive). Percentiles interpolate linearly between the ordered
    times (PostgreSQL's percentile_cont); the hours are rounded half-up to one decimal."""
    kept = _kept_span(uow, counties, date_from, date_to, programme, per_county)
    if kept is None:
        return _live(uow, counties=counties, date_from=date_from, date_to=date_to, programme=programme,
                     per_county=per_county)
    first, last = kept  # Mondays of the first and last whole ended weeks kept: read, not computed
    keys = [ALL] if set(counties) == set(COUNTIES) and not per_county else sorted(counties)
    stored = [ReviewTimeRow(None if r.county_code == ALL else r.county_code, r.week, r.reviewed, r.median_hours,
                            r.p90_hours) for r in uow.session.scalars(select(ReviewTimeWeek).where(
                                ReviewTimeWeek.week >= first, ReviewTimeWeek.week <= last,
                                ReviewTimeWeek.county_code.in_(keys))) if r.reviewed]
    if not per_county and len(counties) == 1:  # one county's figures are its own pooled ones
        stored = [ReviewTimeRow(None, r.week, r.reviewed, r.median_hours, r.p90_hours) for r in stored]
    before = _live(uow, counties=counties, date_from=date_from, date_to=first - dt.timedelta(days=1),
                   per_county=per_county) if date_from < first else []
    after_start = last + dt.timedelta(days=7)
    after = _live(uow, counties=counties, date_from=after_start, date_to=date_to,
                  per_county=per_county) if after_start <= date_to else []
    return sorted([*before, *stored, *after], key=lambda r: (r.week, r.county_code or ""))


def _kept_span(uow: UnitOfWork, counties: Collection[str], date_from: dt.date, date_to: dt.date,
               programme: str | None, per_county: bool) -> tuple[dt.date, dt.date] | None:
    """The whole weeks within the days whose figures are kept for this question, or None to compute them all."""
    every = set(counties) == set(COUNTIES)
    if programme or not (every or len(counties) == 1):  # kept: every programme, every county or one
        return None
    first = date_from + dt.timedelta(days=(7 - date_from.weekday()) % 7)  # the first Monday within the days
    last = date_to - dt.timedelta(days=(date_to.weekday() + 1) % 7) - dt.timedelta(days=6)  # the last whole week
    kept = list(uow.session.scalars(select(ReviewTimeWeek.week).where(
        ReviewTimeWeek.county_code == ALL, ReviewTimeWeek.week >= first, ReviewTimeWeek.week <= last)
        .order_by(ReviewTimeWeek.week)))
    if not kept:
        return None
    # keep_weeks fills from the earliest week on without gaps: the kept weeks are one run
    return kept[0], kept[-1]


def keep_weeks(uow: UnitOfWork) -> int:
    """Compute and keep the figures of every ended ISO week not kept yet, per county and for all; return how
    many weeks were added. Weeks are kept in order from the earliest first decision, so they never have gaps."""
    today = business_date()
    this_monday = today - dt.timedelta(days=today.weekday())
    last = uow.session.scalar(select(func.max(ReviewTimeWeek.week)).where(ReviewTimeWeek.county_code == ALL))
    if last is not None:
        start = last + dt.timedelta(days=7)
    else:
        earliest = uow.session.scalar(select(func.min(Application.first_decided_at)))
        if earliest is None:
            return 0
        day = business_date(earliest)
        start = day - dt.timedelta(days=day.weekday())
    if start >= this_monday:
        return 0
    end = this_monday - dt.timedelta(days=1)
    every = tuple(COUNTIES)
    found = [*_live(uow, counties=every, date_from=start, date_to=end, per_county=True),
             *_live(uow, counties=every, date_from=start, date_to=end, per_county=False)]
    weeks = [start + dt.timedelta(weeks=n) for n in range((this_monday - start).days // 7)]
    pooled = {r.week for r in found if r.county_code is None}
    rows = [{"week": r.week, "county_code": r.county_code or ALL, "reviewed": r.reviewed,
             "median_hours": r.median_hours, "p90_hours": r.p90_hours} for r in found]
    rows += [{"week": w, "county_code": ALL, "reviewed": 0, "median_hours": ZERO_HOURS, "p90_hours": ZERO_HOURS}
             for w in weeks if w not in pooled]  # the marker that the week is kept, also when nobody decided
    insert_rows(uow.session, ReviewTimeWeek, rows, ignore_conflicts=True)  # a second run at once changes nothing
    return len(weeks)


def _live(uow: UnitOfWork, *, counties: Collection[str], date_from: dt.date, date_to: dt.date,
          programme: str | None = None, per_county: bool = True) -> list[ReviewTimeRow]:
    """Compute the figures from the applications' two review times (one grouped query on PostgreSQL)."""
    rows = _first_decisions(counties, date_from, date_to, programme)
    if uow.session.get_bind().dialect.name == "postgresql":
        return _postgres(uow, rows, per_county)
    return percentiles(((c, d, r) for c, d, r in uow.session.execute(select(rows))), per_county)


def _postgres(uow: UnitOfWork, rows: Any, per_county: bool) -> list[ReviewTimeRow]:
    """Group and take the percentiles in the database: only one row per county and week comes back."""
    seconds = func.extract("epoch", rows.c.decided_at - rows.c.reached_at)
    week = cast(func.date_trunc("week", func.timezone("Asia/Shanghai", rows.c.decided_at)), Date)
    keys = (week, rows.c.county_code) if per_county else (week,)
    query = (select(func.count(), func.percentile_cont(0.5).within_group(seconds),
                    func.percentile_cont(0.9).within_group(seconds), *keys)
             .where(rows.c.reached_at.is_not(None), rows.c.reached_at <= rows.c.decided_at)
             .group_by(*keys).order_by(*keys))
    return [ReviewTimeRow(key[1] if per_county else None, key[0], n, _hours(p50), _hours(p90))
            for n, p50, p90, *key in uow.session.execute(query)]


def percentiles(rows: Iterable[tuple[str, dt.datetime, dt.datetime | None]],
                per_county: bool = True) -> list[ReviewTimeRow]:
    """The same figures computed here (SQLite has no percentile_cont), from (county, decided, reached) rows."""
    groups: dict[tuple[str | None, dt.date], list[float]] = {}
    for county, decided, reached in rows:
        if reached is None or reached > decided:
            continue
        day = business_date(decided)
        key = (county if per_county else None, day - dt.timedelta(days=day.weekday()))
        groups.setdefault(key, []).append((decided - reached).total_seconds())
    found = []
    for (group, week), times in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0] or "")):
        ordered = sorted(times)
        found.append(ReviewTimeRow(group, week, len(ordered), _hours(_cont(ordered, 0.5)),
                                   _hours(_cont(ordered, 0.9))))
    return found


def _cont(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks, as percentile_cont does."""
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(seconds: float) -> Decimal:
    return (Decimal(repr(float(seconds))) / 3600).quantize(HOUR, rounding=ROUND_HALF_UP)
