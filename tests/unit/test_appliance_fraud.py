"""The pure fraud checks (issue 5 §8): thresholds are exclusive, hours may wrap midnight, limits come from FRAUD_*."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from subsidy_app.appliances.domain import FraudThresholds, SaleFacts, describe_zh, fraud_signals
from subsidy_app.appliances.fraud import for_viewer, thresholds
from subsidy_app.config import ConfigError, load_settings

LIMITS = FraudThresholds()
NOON = dt.time(12, 0)


def facts(**changes: object) -> SaleFacts:
    base: dict[str, object] = {"price": Decimal("1000.00"), "reference_price": Decimal("1000.00"),
                               "sold_at_local": NOON, "opens_at": dt.time(9), "closes_at": dt.time(21)}
    return SaleFacts(**{**base, **changes})  # type: ignore[arg-type]


def codes(sale: SaleFacts, limits: FraudThresholds = LIMITS) -> list[str]:
    return [s.code for s in fraud_signals(sale, limits)]


def test_a_plain_sale_shows_nothing() -> None:
    assert codes(facts(same_address=3, same_phone=3, same_store_buyer=3)) == []  # at the limits: not above


@pytest.mark.parametrize(("change", "code"), [
    ({"same_address": 4}, "fraud.address"), ({"same_phone": 4}, "fraud.phone"),
    ({"same_store_buyer": 4}, "fraud.store_buyer"), ({"serial_dealers": 2}, "fraud.serial_two_dealers"),
    ({"price": Decimal("1200.01")}, "fraud.price"), ({"sold_at_local": dt.time(21, 1)}, "fraud.outside_hours"),
])
def test_each_signal_just_above_its_threshold(change: dict[str, object], code: str) -> None:
    assert codes(facts(**change)) == [code]


def test_the_price_margin_is_inclusive_and_configurable() -> None:
    assert codes(facts(price=Decimal("1200.00"))) == []
    assert codes(facts(price=Decimal("1050.01")), FraudThresholds(price_margin_percent=Decimal("5"))) == ["fraud.price"]
    assert codes(facts(price=Decimal("9999.00"), reference_price=None)) == []


@pytest.mark.parametrize(("opens", "closes", "at", "flagged"), [
    (dt.time(18), dt.time(2), dt.time(23, 30), False),  # a late shop, open past midnight
    (dt.time(18), dt.time(2), dt.time(1, 59), False),
    (dt.time(18), dt.time(2), dt.time(3), True),
    (dt.time(9), dt.time(21), dt.time(8, 59), True),
])
def test_store_hours(opens: dt.time, closes: dt.time, at: dt.time, flagged: bool) -> None:
    assert (codes(facts(opens_at=opens, closes_at=closes, sold_at_local=at)) == ["fraud.outside_hours"]) is flagged


def test_no_hours_or_no_time_of_day_means_no_hours_signal() -> None:
    assert codes(facts(opens_at=None, sold_at_local=dt.time(3))) == []
    assert codes(facts(sold_at_local=None)) == []  # a back-dated sale: only its day is known


def test_evidence_reads_in_chinese_and_the_dealer_does_not_see_the_other_dealer() -> None:
    signal = fraud_signals(facts(same_phone=5), LIMITS)[0]
    assert describe_zh({"zh": signal.zh, "evidence": signal.evidence}) == \
        "同一手机号多次补贴购买(次数 5,阈值 3,统计期 30 天)"
    stored = [{"code": "fraud.serial_two_dealers", "zh": "同一序列号被两家经销商上报",
               "evidence": {"dealers": "2", "other_dealer": "孝义市电器商行有限公司"}}]
    assert for_viewer(stored, bureau=True)[0]["detail_zh"] == \
        "同一序列号被两家经销商上报(上报经销商 2 家,另一经销商:孝义市电器商行有限公司)"
    assert for_viewer(stored, bureau=False)[0]["evidence"] == {"dealers": "2"}


def test_thresholds_come_from_the_environment() -> None:
    settings = load_settings({"FRAUD_SALES_PER_PHONE": "5", "FRAUD_PRICE_MARGIN_PERCENT": "12.5",
                              "FRAUD_WINDOW_DAYS": "7", "DATABASE_URL": "sqlite://"})
    limits = thresholds(settings)
    assert (limits.sales_per_phone, limits.price_margin_percent, limits.window_days) == (5, Decimal("12.5"), 7)
    assert limits.deliveries_per_address == 3  # unset: the default


@pytest.mark.parametrize(("name", "value"), [("FRAUD_SALES_PER_PHONE", "many"), ("FRAUD_WINDOW_DAYS", "0"),
                                             ("FRAUD_PRICE_MARGIN_PERCENT", "-1"), ("FRAUD_STORE_BUYER_SALES", "2.5")])
def test_a_bad_threshold_stops_the_start_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value, "DATABASE_URL": "sqlite://"})
