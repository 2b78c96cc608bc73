"""Baselines, targets and progress; the ten-day workbook opens and its figures match the rollups."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from recycling import closed_loop, intake, reports, rollups, targets, used_cars
from recycling.domain import Domain, Indicator, categories_of, parse_period
from recycling.workbook import CLOSED_LOOP_SHEET, HEADER_ROW, SHEET_NAMES
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES
from tests.recycling_support import ACTOR, IntakeDraftFactory, build_network, make_vin

PERIOD = parse_period("2026-03-2")  # 11–20 March 2026
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def loaded(uow: UnitOfWork, demo: dict[str, int]):
    network = build_network(uow, demo)
    targets.load_shipped(uow, actor=ACTOR)
    for day, category, units in [(dt.date(2026, 3, 12), "appliance.refrigerator", 3),
                                 (dt.date(2026, 3, 20), "appliance.television", 2),
                                 (dt.date(2026, 3, 21), "appliance.television", 7),  # next period
                                 (dt.date(2026, 2, 2), "appliance.refrigerator", 4),  # earlier: YTD only
                                 (dt.date(2026, 3, 15), "material.steel", 0)]:
        intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
            site_id=network.drop_off, category=category, units=units, weight_kg=Decimal("12.5"), occurred_on=day))
    used_cars.register_used_car_transfer(uow, actor=ACTOR, reporter_org_id=demo["org:dealer:car"], vin=make_vin(1),
                                         transferred_on=dt.date(2026, 3, 14), price=Decimal("30000.00"),
                                         county_code="141181")
    return network


def test_targets_are_data_and_progress_follows_the_straight_line(uow: UnitOfWork, loaded) -> None:
    result = targets.progress(uow, indicator=Indicator.APPLIANCES, as_of=dt.date(2026, 3, 31), counties=["141102"])
    assert result.target == (result.baseline * Decimal("1.30")).quantize(Decimal("0.01"))
    assert result.ytd == Decimal(16)
    assert result.annual_target == (result.baseline + (result.target - result.baseline) * 3 / 4).quantize(
        Decimal("0.01"))
    series = targets.monthly_series(uow, indicator=Indicator.APPLIANCES, year=2026, counties=["141102"])
    assert [p.actual for p in series[:3]] == [Decimal(0), Decimal(4), Decimal(12)]
    assert series[-1].cumulative == Decimal(16)


def test_ten_day_workbook_opens_and_matches_the_rollups(uow: UnitOfWork, loaded) -> None:
    info = reports.make_report(uow, actor=ACTOR, period_code=PERIOD.code, today=TODAY)
    _, content = reports.report_content(uow, report_id=info.id)
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == [*SHEET_NAMES.values(), CLOSED_LOOP_SHEET]
    period = rollups.period_totals(uow, start=PERIOD.start, end=PERIOD.end)
    ytd = rollups.period_totals(uow, start=dt.date(2026, 1, 1), end=PERIOD.end)
    for domain, name in SHEET_NAMES.items():
        sheet = book[name]
        assert len(sheet._charts) == 1
        rows = {r[0]: r for r in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True)}
        for county in COUNTIES:
            expected = sum(q.units for (c, k), q in period.items() if c == county and k in categories_of(domain))
            expected_ytd = sum(q.units for (c, k), q in ytd.items() if c == county and k in categories_of(domain))
            assert (rows[county][2], rows[county][4]) == (expected, expected_ytd), (name, county)
    appliances = {r[0]: r for r in book[SHEET_NAMES[Domain.APPLIANCES]].iter_rows(min_row=4, values_only=True)}
    assert (appliances["141102"][2], appliances["141102"][4]) == (5, 9)
    assert appliances["141100"][2] == 5
    used = {r[0]: r for r in book[SHEET_NAMES[Domain.USED_CARS]].iter_rows(min_row=4, values_only=True)}
    assert used["141181"][2] == 1


def test_reports_are_made_once_per_period_unless_replaced(uow: UnitOfWork, loaded) -> None:
    first = reports.make_report(uow, actor=ACTOR, period_code=PERIOD.code, today=TODAY)
    again = reports.make_report(uow, actor=ACTOR, period_code=PERIOD.code, today=TODAY)
    assert again.id == first.id
    assert again.generated_at.replace(tzinfo=None) == first.generated_at.replace(tzinfo=None)  # not rebuilt
    assert [r.period for r in reports.list_reports(uow)] == [PERIOD.code]
    due = reports.make_due_reports(uow, actor=ACTOR, today=dt.date(2026, 4, 1))
    assert due == ["2026-03-3", "2026-03"]


def test_an_open_or_malformed_period_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(ValidationFailed) as caught:
        reports.make_report(uow, actor=ACTOR, period_code="2026-11-3", today=TODAY)
    assert caught.value.reason == "report.period_open"
    with pytest.raises(ValidationFailed) as caught:
        reports.make_report(uow, actor=ACTOR, period_code="2026-11-4", today=TODAY)
    assert caught.value.reason == "report.period"


def test_the_closed_loop_sheet_has_a_city_total_row_like_the_other_sheets(uow: UnitOfWork, loaded,
                                                                          demo: dict[str, int]) -> None:
    for i, county in enumerate(("141102", "141102", "141181")):
        closed_loop.register_hand_in_obligation(
            uow, trade_in_ref=f"LOOP-{i}", kind="appliance", dealer_org_id=demo["org:dealer:appliance"],
            county_code=county, category="appliance.refrigerator", occurred_on=PERIOD.start)
    closed_loop.flag_overdue(uow, today=TODAY)
    info = reports.make_report(uow, actor=ACTOR, period_code=PERIOD.code, today=TODAY)
    book = load_workbook(io.BytesIO(reports.report_content(uow, report_id=info.id)[1]))
    rows = {r[0]: r for r in book[CLOSED_LOOP_SHEET].iter_rows(min_row=HEADER_ROW + 1, values_only=True)}
    assert rows["141100"][1] == "全市合计"
    assert rows["141100"][2:7] == tuple(sum(rows[c][k] for c in COUNTIES) for k in range(2, 7)) == (3, 0, 0, 0, 3)
    assert rows["141100"][7] == 0  # none closed of the three due
