"""Beijing time: every business date is an instant's date in Asia/Shanghai, derived by core.clock alone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from subsidy_app.core import clock
from tests.helpers import freeze_clock

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("instant", "day"), [
    (dt.datetime(2026, 12, 2, 15, 59, 59, tzinfo=UTC), dt.date(2026, 12, 2)),  # 23:59:59 in Beijing
    (dt.datetime(2026, 12, 2, 16, 0, 0, tzinfo=UTC), dt.date(2026, 12, 3)),  # midnight in Beijing
    (dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC), dt.date(2026, 12, 3)),  # the 05:36 sale
    (dt.datetime(2025, 12, 31, 16, 30, tzinfo=UTC), dt.date(2026, 1, 1)),  # a year boundary
    (dt.datetime(2026, 1, 31, 16, 30, tzinfo=UTC), dt.date(2026, 2, 1)),  # a month boundary
    (dt.datetime(2026, 1, 10, 16, 0, tzinfo=UTC), dt.date(2026, 1, 11)),  # a ten-day period boundary
    (dt.datetime(2026, 12, 3, 5, 36, tzinfo=clock.BEIJING), dt.date(2026, 12, 3)),  # already in Beijing time
])
def test_an_instants_business_date_is_its_date_in_beijing(instant: dt.datetime, day: dt.date) -> None:
    assert clock.business_date(instant) == day


def test_a_naive_instant_is_taken_as_utc() -> None:
    assert clock.business_date(dt.datetime(2026, 12, 2, 16, 0)) == dt.date(2026, 12, 3)
    assert clock.business_date(dt.datetime(2026, 12, 2, 15, 59, 59)) == dt.date(2026, 12, 2)


def test_today_is_todays_date_in_beijing(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC))
    assert clock.business_date() == dt.date(2026, 12, 3)
    assert clock.beijing_now() == dt.datetime(2026, 12, 3, 5, 36, tzinfo=clock.BEIJING)
    assert clock.beijing_now().utcoffset() == dt.timedelta(hours=8)


def test_a_business_day_starts_at_midnight_beijing_time() -> None:
    start = clock.day_start(dt.date(2026, 1, 1))
    assert start == dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC) and start.tzinfo == UTC
    assert clock.business_date(start) == dt.date(2026, 1, 1)
    assert clock.business_date(start - dt.timedelta(microseconds=1)) == dt.date(2025, 12, 31)


@pytest.mark.parametrize("now", [dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC),  # 05:36 in Beijing
                                 dt.datetime(2026, 12, 2, 3, 0, tzinfo=UTC)])  # 11:00 in Beijing
def test_a_back_dated_entry_keeps_its_business_date_at_the_clocks_time_of_day(now: dt.datetime) -> None:
    back = clock.instant_on(dt.date(2026, 11, 20), now)
    assert clock.business_date(back) == dt.date(2026, 11, 20)
    assert clock.beijing_time(back).time() == clock.beijing_time(now).time()  # type: ignore[union-attr]
    assert back.tzinfo == UTC
    assert clock.instant_on(clock.business_date(now), now) == now  # today: the instant itself


def test_only_the_clock_reads_the_wall_clock_or_takes_a_date_of_an_instant() -> None:
    # Each of these once derived a business date in UTC or the host's zone; core.clock does it in one place.
    wrong = re.compile(r"date\.today\(\)|datetime\.now\(|\.now\(dt\.UTC\)|LOCAL_TZ|CHINA_TZ|_at\.date\(\)"
                       r"|utcnow\(\)\.date\(\)|cutoff\.date\(\)|now\.date\(\)")
    found = []
    for package in ("subsidy_app", "recycling", "reverse_invoice"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "subsidy_app" / "core" / "clock.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if wrong.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_every_page_shows_an_instant_through_the_beijing_filter() -> None:
    # A datetime printed with strftime straight from the row is UTC: 21:36 where Beijing reads 05:36.
    # `(x.at|beijing).strftime(` is the right way; a store's opens_at/closes_at are times of day, not instants.
    raw = re.compile(r"\b(?!opens_at\b|closes_at\b)(\w+_at|at)\.strftime\(")
    found = []
    for package in ("subsidy_app", "recycling", "reverse_invoice"):
        for path in sorted((ROOT / package).rglob("*.html")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if raw.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
