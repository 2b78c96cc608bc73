"""Working days in Beijing: Monday to Friday, less public holidays, plus the weekend days worked in their place.

One calendar for every deadline counted in working days: complaints and appeals, and review limits a rule version
states in working days. The holidays and make-up days are configured (PUBLIC_HOLIDAYS, MAKEUP_WORKDAYS): no
official list ships, none having been confirmed from a source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkingCalendar:
    """Monday to Friday, less public holidays, plus the weekend days worked in their place (调休)."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def of(cls, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()) -> WorkingCalendar:
        """Build a calendar from configured dates."""
        return cls(frozenset(holidays), frozenset(workdays))

    def is_working(self, day: dt.date) -> bool:
        """Tell whether a Beijing date is a working day."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """Return the date `days` working days after `start` (the start day itself does not count)."""
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Count the working days after `start` up to and including `end`."""
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working(start + dt.timedelta(days=n)))


MONDAY_TO_FRIDAY = WorkingCalendar()
