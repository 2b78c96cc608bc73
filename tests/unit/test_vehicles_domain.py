"""Registry rules without a database: fuel groups, dates and headers."""

from __future__ import annotations

import datetime as dt

import pytest

from subsidy_app.vehicles.domain import FuelGroup, RowProblem, VehicleRecord, fuel_group, map_headers, parse_date


@pytest.mark.parametrize(
    ("code", "nev_plate", "group"),
    [("1", False, FuelGroup.PETROL), ("2", False, FuelGroup.DIESEL), ("3", False, FuelGroup.OTHER),
     ("4", False, FuelGroup.OTHER), ("9", False, FuelGroup.NEV), ("a", False, FuelGroup.NEV),
     ("8", True, FuelGroup.NEV), ("8", False, FuelGroup.PETROL), ("插电式混合动力", False, FuelGroup.NEV),
     ("油电混合", False, FuelGroup.PETROL), ("汽油", False, FuelGroup.PETROL), ("柴油", False, FuelGroup.DIESEL),
     ("压缩天然气", False, FuelGroup.OTHER), ("纯电动", False, FuelGroup.NEV), ("氢燃料电池", False, FuelGroup.NEV),
     ("７", False, FuelGroup.OTHER)],
)
def test_fuel_codes_map_to_the_rule_groups(code: str, nev_plate: bool, group: FuelGroup) -> None:
    assert fuel_group(code, nev_plate=nev_plate) is group


@pytest.mark.parametrize("text", ["2012-06-30", "2012/6/30", "2012.06.30", "20120630", "２０１２-06-30 00:00:00"])
def test_dates_in_office_formats_are_read(text: str) -> None:
    assert parse_date(text, "d", required=True) == dt.date(2012, 6, 30)


def test_bad_or_missing_dates_name_their_field() -> None:
    with pytest.raises(RowProblem) as bad:
        parse_date("2012-02-30", "first_registration", required=True)
    assert bad.value.field == "first_registration"
    with pytest.raises(RowProblem):
        parse_date("", "owner_since", required=True)
    assert parse_date(None, "deregistered_on", required=False) is None
    assert parse_date(dt.datetime(2020, 1, 2, 3, 4), "x", required=True) == dt.date(2020, 1, 2)


def test_headers_are_found_in_any_order_and_missing_ones_named() -> None:
    mapping = map_headers(["\ufeff号牌号码", "车辆识别代号", "车辆类型", "使用性质", "燃料种类", "初次登记日期",
                           "所有人身份证明号码", "所有人取得日期", "备注"])
    assert mapping[0] == "plate" and mapping[1] == "vin" and 8 not in mapping
    with pytest.raises(RowProblem) as missing:
        map_headers(["车辆识别代号"])
    assert missing.value.reason == "file.header" and "号牌号码" in str(missing.value)  # named in the message


def test_record_tells_deregistered_and_transferred_out() -> None:
    record = VehicleRecord("LSVAU2189E2000001", "晋J12345", "小型轿车", "非营运", "petrol", "1", dt.date(2011, 1, 1),
                           "h", "1411**********0018", dt.date(2011, 1, 1), dt.date(2026, 1, 1), "Z1", None)
    assert record.deregistered and not record.transferred_out
