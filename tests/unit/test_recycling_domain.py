"""Pure recovery rules: periods, mass-balance checks, the straight-line path and the forecast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from recycling.domain import (
    Path,
    Period,
    SiteLevel,
    check_quantity,
    dekad_of,
    forecast,
    last_completed_periods,
    parse_period,
    target_from,
    transfer_direction_ok,
)


@pytest.mark.parametrize(("code", "start", "end"), [
    ("2026-11-1", dt.date(2026, 11, 1), dt.date(2026, 11, 10)),
    ("2026-11-2", dt.date(2026, 11, 11), dt.date(2026, 11, 20)),
    ("2026-02-3", dt.date(2026, 2, 21), dt.date(2026, 2, 28)),
    ("2024-02-3", dt.date(2024, 2, 21), dt.date(2024, 2, 29)),
    ("2026-12", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
])
def test_period_codes_cover_the_ten_day_rule(code: str, start: dt.date, end: dt.date) -> None:
    period = parse_period(code)
    assert (period.start, period.end, period.code) == (start, end, code)


@pytest.mark.parametrize("code", ["2026-13", "2026-11-4", "26-11-1", "2026/11", ""])
def test_bad_period_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period(code)


def test_last_completed_periods() -> None:
    assert [p.code for p in last_completed_periods(dt.date(2026, 11, 11))] == ["2026-11-1", "2026-10"]
    assert [p.code for p in last_completed_periods(dt.date(2026, 11, 15))] == ["2026-11-1", "2026-10"]
    assert [p.code for p in last_completed_periods(dt.date(2026, 12, 1))] == ["2026-11-3", "2026-11"]
    assert [p.code for p in last_completed_periods(dt.date(2027, 1, 5))] == ["2026-12-3", "2026-12"]
    assert dekad_of(dt.date(2026, 11, 20)) == Period(2026, 11, 2)


def test_quantity_checks_name_the_field() -> None:
    assert check_quantity(1, Decimal("1.5")) is None
    assert check_quantity(-1, Decimal("1"))[0] == "units"
    assert check_quantity(1, Decimal("1.0001"))[0] == "weight_kg"
    assert check_quantity(0, Decimal("0"))[0] == "units"


def test_material_moves_only_up_the_network() -> None:
    assert transfer_direction_ok(SiteLevel.DROP_OFF, SiteLevel.TRANSFER)
    assert transfer_direction_ok(SiteLevel.DROP_OFF, SiteLevel.SORTING)
    assert not transfer_direction_ok(SiteLevel.SORTING, SiteLevel.DROP_OFF)


def test_straight_line_path_and_forecast() -> None:
    path = Path(2023, Decimal(1000), 2027, target_from(Decimal(1000), Decimal("2.00")))
    assert path.target == Decimal("2000.00")
    assert path.annual_target(2025) == Decimal("1500.00")
    assert path.expected_to_date(dt.date(2025, 12, 31)) == Decimal("1500.00")
    # Half of 2025 gone with 800 recovered: run rate 1600/yr, the line through (2023,1000),(2025,1600) → 2200.
    mid = dt.date(2025, 7, 2)
    assert abs(forecast(path, Decimal(800), mid) - Decimal(2200)) < Decimal(10)


def test_the_forecast_is_never_negative() -> None:
    # Reported: a county with 13 units by late November against a 2023 baseline of 6,240 was forecast -2,060.47
    # (the line through the baseline and a run rate of 14.65 falls below zero by 2027).
    path = Path(2023, Decimal(6240), 2027, target_from(Decimal(6240), Decimal("2.00")))
    assert forecast(path, Decimal(13), dt.date(2026, 11, 20)) == Decimal("0.00")
    assert forecast(path, Decimal(0), dt.date(2026, 1, 1)) == Decimal("0.00")
    # A healthy run rate is untouched by the floor.
    assert forecast(path, Decimal(9000), dt.date(2026, 12, 31)) == Decimal("9920.00")  # 6,240 + (9,000 − 6,240) × 4 ÷ 3


def test_quantities_beyond_any_real_load_are_refused_by_field() -> None:
    # Found by fuzzing: 8.4e48 kg raised decimal.InvalidOperation in quantize (a 500).
    assert check_quantity(1, Decimal("8.412526565186798e+48"))[0] == "weight_kg"
    assert check_quantity(1_000_001, Decimal("1"))[0] == "units"
    assert check_quantity(1_000_000, Decimal("100000000.000")) is None
