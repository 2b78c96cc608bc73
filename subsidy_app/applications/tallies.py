"""Tallies of applications reaching each milestone per Beijing day, county, programme and category.

The dashboard reads these instead of scanning applications: each change adds to its cell in the transaction
that makes it, so the tally is exactly what the application rows say (`recount` proves it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, select

from subsidy_app.applications.domain import Action, State
from subsidy_app.applications.models import Application, ApplicationEvent, ApplicationTally
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import add_to_cells, utcnow
from subsidy_app.core.uow import UnitOfWork

TABLE = cast(Table, ApplicationTally.__table__)
_PENDING = "applications.tallies"

MILESTONE_LABELS_ZH = {"submitted": "提交", "approved": "审核通过", "paid": "已发放", "rejected": "未通过",
                       "revoked": "撤销"}
MILESTONES = tuple(MILESTONE_LABELS_ZH)

# The transitions that reach a milestone; an approval counts once, whether it waited for money or not.
_REACHED_BY: dict[tuple[Action, State], str] = {
    (Action.APPROVE, State.APPROVED): "approved",
    (Action.APPROVE, State.AWAITING_FUNDS): "approved",
    (Action.APPROVE_SECOND, State.APPROVED): "approved",
    (Action.APPROVE_SECOND, State.AWAITING_FUNDS): "approved",
    (Action.PAYMENT_CONFIRMED, State.PAID): "paid",
    (Action.REJECT, State.REJECTED): "rejected",
    (Action.REVOKE, State.REVOKED): "revoked",
}


@dataclass(frozen=True)
class Cell:
    """One tally cell: a milestone on a day in a county for a programme and category."""

    day: dt.date
    county_code: str
    programme: str
    category: str
    milestone: str


def amount_counted(milestone: str, amount: Decimal) -> Decimal:
    """Return the amount a milestone adds: none at submission, when the checks have not yet set the amount."""
    return Decimal("0.00") if milestone == "submitted" else amount


def milestone_of(action: Action, to_state: State) -> str | None:
    """Return the milestone a transition reaches, if any."""
    return _REACHED_BY.get((action, to_state))


def count(uow: UnitOfWork, *, app: Application, milestone: str, at: dt.datetime | None = None) -> None:
    """Add an application to a milestone's cell; written with the transaction's other changes at commit."""
    cell = Cell(business_date(at or utcnow()), app.county_code, app.programme, app.category, milestone)
    pending: dict[Cell, list[Any]] = uow.context.setdefault(_PENDING, defaultdict(lambda: [0, 0]))
    figures = pending[cell]
    figures[0] += 1
    figures[1] += amount_counted(milestone, app.amount)
    # Last, so the cell rows are locked only for that statement and the commit (see UnitOfWork).
    uow.last_before_commit(_PENDING, _write)


def _write(uow: UnitOfWork) -> None:
    pending = uow.context.pop(_PENDING, {})
    add_to_cells(uow.session, TABLE, [
        {"day": c.day, "county_code": c.county_code, "programme": c.programme, "category": c.category,
         "milestone": c.milestone, "count": n, "amount": amount} for c, (n, amount) in pending.items()],
        sums=("count", "amount"))


@dataclass(frozen=True)
class Figure:
    """A tally cell's totals."""

    count: int
    amount: Decimal


def stored(uow: UnitOfWork, *, counties: Iterable[str] | None = None, date_from: dt.date | None = None,
           date_to: dt.date | None = None) -> dict[Cell, Figure]:
    """Return every tally cell, optionally within counties and days (for checks: pages read `totals_by`)."""
    _write(uow)  # this transaction's own changes first: a read sees what its transaction did
    t = ApplicationTally
    query = _within(select(t.day, t.county_code, t.programme, t.category, t.milestone, t.count, t.amount),
                    counties, date_from, date_to)
    cells = {Cell(d, c, p, k, m): Figure(int(n), Decimal(a)) for d, c, p, k, m, n, a in uow.session.execute(query)}
    return {cell: fig for cell, fig in cells.items() if fig.count}


GRAINS = {"day": ("day",), "county": ("county_code",), "programme": ("programme", "category")}


def totals_by(uow: UnitOfWork, grain: str, *, counties: Iterable[str] | None = None,
              date_from: dt.date | None = None, date_to: dt.date | None = None
              ) -> dict[tuple[Any, ...], dict[str, Figure]]:
    """Add the cells up by a grain (day, county or programme and category) per milestone, in one query."""
    _write(uow)  # this transaction's own changes first: a read sees what its transaction did
    t = ApplicationTally
    keys = [getattr(t, name) for name in GRAINS[grain]]
    query = _within(select(*keys, t.milestone, func.sum(t.count), func.sum(t.amount)).group_by(*keys, t.milestone),
                    counties, date_from, date_to)
    grouped: dict[tuple[Any, ...], dict[str, Figure]] = defaultdict(dict)
    for *key, milestone, n, amount in uow.session.execute(query):
        if n:
            grouped[tuple(key)][milestone] = Figure(int(n), Decimal(amount))
    return dict(grouped)


def _within(query: Any, counties: Iterable[str] | None, date_from: dt.date | None, date_to: dt.date | None) -> Any:
    t = ApplicationTally
    if counties is not None:
        query = query.where(t.county_code.in_(list(counties)))
    if date_from is not None:
        query = query.where(t.day >= date_from)
    if date_to is not None:
        query = query.where(t.day <= date_to)
    return query


def recount(uow: UnitOfWork) -> dict[Cell, Figure]:
    """Count every cell again from the applications and their events (slow: for checks, not for pages)."""
    cells: dict[Cell, list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])

    def add(app: Any, milestone: str, at: dt.datetime) -> None:
        figures = cells[Cell(business_date(at), app.county_code, app.programme, app.category, milestone)]
        figures[0] += 1
        figures[1] += amount_counted(milestone, app.amount)

    a, e = Application, ApplicationEvent
    for app in uow.session.execute(select(a.county_code, a.programme, a.category, a.amount, a.submitted_at)):
        add(app, "submitted", app.submitted_at)
    events = select(a.county_code, a.programme, a.category, a.amount, e.action, e.to_state, e.at).join(
        a, a.id == e.application_id)
    for row in uow.session.execute(events):
        milestone = milestone_of(Action(row.action), State(row.to_state))
        if milestone is not None:
            add(row, milestone, row.at)
    return {cell: Figure(n, amount) for cell, (n, amount) in cells.items()}
