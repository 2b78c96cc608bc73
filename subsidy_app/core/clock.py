"""The platform's one clock: instants in UTC; business dates derived, and instants shown, in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from typing import overload
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")  # China keeps UTC+8 all year
# Every business date (a sale's date, quota and ten-day periods, the filing month, deadlines, a form's "today")
# comes from here, so that no page or rule takes a date in UTC or in the host's zone.


def utc_now() -> dt.datetime:
    """Return the current instant, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def beijing_now() -> dt.datetime:
    """Return the current instant in Beijing time."""
    return utc_now().astimezone(BEIJING)


def _aware(instant: dt.datetime) -> dt.datetime:
    # A naive value is UTC: SQLite hands timestamps back without their zone.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


@overload
def beijing_time(instant: dt.datetime) -> dt.datetime: ...


@overload
def beijing_time(instant: None) -> None: ...


def beijing_time(instant: dt.datetime | None) -> dt.datetime | None:
    """The instant in Beijing time (a naive value is taken as UTC, as SQLite returns it)."""
    return None if instant is None else _aware(instant).astimezone(BEIJING)


def business_date(instant: dt.datetime | None = None) -> dt.date:
    """Return an instant's date in Beijing, or today's there when no instant is given (naive means UTC)."""
    return _aware(instant if instant is not None else utc_now()).astimezone(BEIJING).date()


def day_start(day: dt.date) -> dt.datetime:
    """Return the instant (in UTC) at which a Beijing business day begins: its midnight in Beijing."""
    return dt.datetime.combine(day, dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)


def instant_on(day: dt.date, now: dt.datetime | None = None) -> dt.datetime:
    """Return `now` (in UTC) if it is on `day` in Beijing, else `day` at now's Beijing time of day (back-dated)."""
    wall = _aware(now if now is not None else utc_now()).astimezone(BEIJING)
    if wall.date() != day:
        wall = dt.datetime.combine(day, wall.timetz())
    return wall.astimezone(dt.UTC)
