"""Hand-in duties counted per county, trade-in day and standing, kept in the transaction of each change.

The closed-loop figures per county (how many old items reached a recycler, on time or late, how many are overdue)
are read from here, not by scanning every duty; `recount` proves the two agree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, func, select

from recycling.models import HandInObligation, HandInTally
from subsidy_app.core.db import add_to_cells
from subsidy_app.core.uow import UnitOfWork

TABLE = cast(Table, HandInTally.__table__)
STANDINGS = ("open", "overdue", "closed_on_time", "closed_late")
_PENDING = "recycling.hand_in_tally"
Key = tuple[str, dt.date, str]  # county, trade-in day, standing


def standing(status: str, closed_on: dt.date | None, due_on: dt.date) -> str:
    """A duty's standing: open, overdue, or closed on time or late."""
    if status != "closed":
        return status
    return "closed_on_time" if closed_on is not None and closed_on <= due_on else "closed_late"


def move(uow: UnitOfWork, *, county_code: str, occurred_on: dt.date, before: str | None, after: str | None) -> None:
    """Count a duty's change of standing (None: it did not exist); written at commit in one statement."""
    if before == after:
        return
    pending: Counter[Key] = uow.context.setdefault(_PENDING, Counter())
    if before is not None:
        pending[(county_code, occurred_on, before)] -= 1
    if after is not None:
        pending[(county_code, occurred_on, after)] += 1
    uow.last_before_commit(_PENDING, _write)  # taken last: cell rows stay locked only for the commit


def _write(uow: UnitOfWork) -> None:
    pending: Counter[Key] = uow.context.pop(_PENDING, Counter())
    add_to_cells(uow.session, TABLE, [{"county_code": c, "occurred_on": d, "standing": s, "count": n}
                                      for (c, d, s), n in pending.items() if n], sums=("count",))


def totals(uow: UnitOfWork, *, counties: Iterable[str] | None = None, date_from: dt.date | None = None,
           date_to: dt.date | None = None) -> dict[str, Counter[str]]:
    """Duties per county and standing for trade-ins made in a range of days; one query."""
    _write(uow)  # this transaction's own changes first: a read sees what its transaction did
    t = HandInTally
    query = select(t.county_code, t.standing, func.sum(t.count)).group_by(t.county_code, t.standing)
    if counties is not None:
        query = query.where(t.county_code.in_(list(counties)))
    if date_from is not None:
        query = query.where(t.occurred_on >= date_from)
    if date_to is not None:
        query = query.where(t.occurred_on <= date_to)
    out: dict[str, Counter[str]] = {}
    for county, kind, n in uow.session.execute(query):
        if n:
            out.setdefault(county, Counter())[kind] += int(n)
    return out


def stored(uow: UnitOfWork) -> Counter[Key]:
    """Every stored cell (zero cells left out)."""
    _write(uow)  # this transaction's own changes first: a read sees what its transaction did
    t = HandInTally
    return Counter({(c, d, s): int(n) for c, d, s, n in uow.session.execute(
        select(t.county_code, t.occurred_on, t.standing, t.count)) if n})


def recount(uow: UnitOfWork) -> Counter[Key]:
    """Count every cell again from the duties themselves (slow: for checks, not for pages)."""
    o = HandInObligation
    cells: Counter[Key] = Counter()
    for county, day, status, closed_on, due_on in uow.session.execute(
            select(o.county_code, o.occurred_on, o.status, o.closed_on, o.due_on)):
        cells[(county, day, standing(status, closed_on, due_on))] += 1
    return cells
