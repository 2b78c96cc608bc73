"""Sales showing each fraud signal, counted per county and Beijing sale day in the transaction that sets it.

The dashboard's fraud panel reads these counts instead of unpacking every sale's stored signals; `recount`
proves the two agree. A signal is counted once per sale, however often its evidence is refreshed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from subsidy_app.appliances.models import ApplianceSale, SignalTally
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import add_to_cells
from subsidy_app.core.uow import UnitOfWork

TABLE = cast(Table, SignalTally.__table__)
_PENDING = "appliances.signal_tally"
Key = tuple[str, dt.date, str]  # county, sale day, signal code


def codes(signals: Iterable[dict[str, Any]]) -> set[str]:
    """The codes of a sale's stored signals."""
    return {str(s.get("code")) for s in signals if s.get("code")}


def _changes(county_code: str, sold_at: dt.datetime, before: set[str], after: set[str]) -> Counter[Key]:
    day = business_date(sold_at)
    change: Counter[Key] = Counter()
    for code in after - before:
        change[(county_code, day, code)] += 1
    for code in before - after:
        change[(county_code, day, code)] -= 1
    return change


def move(uow: UnitOfWork, *, county_code: str, sold_at: dt.datetime, before: set[str], after: set[str]) -> None:
    """Count a sale's signals changing from `before` to `after`; written at commit in one statement."""
    change = _changes(county_code, sold_at, before, after)
    if not change:
        return
    pending: Counter[Key] = uow.context.setdefault(_PENDING, Counter())
    pending.update(change)
    uow.last_before_commit(_PENDING, lambda u: _write(u.session, u.context.pop(_PENDING, Counter())))


def move_now(session: Session, *, county_code: str, sold_at: dt.datetime, before: set[str], after: set[str]) -> None:
    """`move` for a caller working in a session of its own (the two-dealers report): written at once."""
    _write(session, _changes(county_code, sold_at, before, after))


def _write(session: Session, change: Counter[Key]) -> None:
    add_to_cells(session, TABLE, [{"county_code": c, "day": d, "code": k, "count": n}
                                  for (c, d, k), n in change.items() if n], sums=("count",))


def totals(uow: UnitOfWork, *, counties: Iterable[str], date_from: dt.date, date_to: dt.date) -> dict[str, int]:
    """Sales per signal code within counties and sale days; one query."""
    pending = uow.context.pop(_PENDING, Counter())
    _write(uow.session, pending)  # this transaction's own changes first
    t = SignalTally
    rows = uow.session.execute(select(t.code, func.sum(t.count)).where(
        t.county_code.in_(list(counties)), t.day >= date_from, t.day <= date_to).group_by(t.code))
    return {code: int(n) for code, n in rows if n}


def stored(uow: UnitOfWork) -> Counter[Key]:
    """Every stored cell (zero cells left out)."""
    t = SignalTally
    return Counter({(c, d, k): int(n) for c, d, k, n in uow.session.execute(
        select(t.county_code, t.day, t.code, t.count)) if n})


def recount(uow: UnitOfWork) -> Counter[Key]:
    """Count every cell again from the sales' stored signals (slow: for checks, not for pages)."""
    cells: Counter[Key] = Counter()
    for county, sold_at, signals in uow.session.execute(
            select(ApplianceSale.county_code, ApplianceSale.sold_at, ApplianceSale.signals)):
        for code in codes(signals or []):
            cells[(county, business_date(sold_at), code)] += 1
    return cells
