"""Beijing time: instants are stored in UTC and shown, and turned into business dates, in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")  # China keeps UTC+8 all year


def beijing_time(instant: dt.datetime | None) -> dt.datetime | None:
    """The instant in Beijing time (a naive value is taken as UTC, as SQLite returns it)."""
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(BEIJING)
