"""Issue 5 §8: each fraud signal through the till's endpoint, just below and at its threshold, then on the statement."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.appliances import buyer as buyers
from subsidy_app.appliances.demo import prepare_store
from subsidy_app.appliances.models import ApplianceSale, SerialReport, Store
from subsidy_app.core.clock import beijing_now
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.rules.models import BudgetPool
from tests.appliance_fixtures import AC, FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import resident_id
from tests.conftest import TEST_SECRET_KEY, _settings_dict, make_settings
from tests.helpers import bearer

# Lower than the defaults, to show they are configuration: the third matching sale is flagged, the second is not.
LIMITS = {"fraud_deliveries_per_address": 2, "fraud_sales_per_phone": 2, "fraud_store_buyer_sales": 2,
          "fraud_price_margin_percent": Decimal("10"), "fraud_window_days": 30}
MAY = {"programme": "appliance", "period_start": "2025-05-01", "period_end": "2025-05-31"}
_people = itertools.count(500)


@pytest.fixture
def app(database_url: str, session_factory: sessionmaker[Session]) -> Flask:
    from subsidy_app.app import create_app

    settings = make_settings(database_url, **LIMITS)
    return create_app({**_settings_dict(settings), "session_factory": session_factory})


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(client: FlaskClient, world) -> dict[str, str]:
    return bearer(client, "dealer.appliance")


def _person(uow: UnitOfWork) -> int:
    n = next(_people)
    person_id = persons.register_person(uow, actor="t", name=f"买家{n}",
                                        id_number=resident_id(f"14110219900101{n:03d}"))
    uow.commit()
    return person_id


def _token(uow: UnitOfWork, store_id: int, person_id: int, phone: str) -> str:
    """What the buyer's phone shows the clerk; the phone is given apart from the person to separate the signals."""
    return buyers.confirmation_token(TEST_SECRET_KEY, person_id=person_id, store_id=store_id,
                                     phone_hash=uow.cipher.match_hash(phone))


def _codes(uow: UnitOfWork, number: str) -> dict[str, dict[str, Any]]:
    sale = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.number == number))
    assert sale is not None
    uow.session.refresh(sale)
    return {s["code"]: s for s in sale.signals}


def _sell_many(client, uow, till, world, bodies: list[dict[str, Any]]) -> list[str]:
    numbers = []
    for body in bodies:
        status, answer = sell(client, till, body)
        assert status == 200 and answer["eligible"], answer  # a signal never refuses the sale
        numbers.append(answer["number"])
    return numbers


def test_many_sales_to_one_phone(client, uow, world, till) -> None:
    bodies = [sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13900000001"), AC, "3999.00",
                        f"2025-05-0{i + 1}") for i in range(3)]
    first, second, third = _sell_many(client, uow, till, world, bodies)
    assert _codes(uow, first) == {} and _codes(uow, second) == {}  # 2 sales = the limit: not flagged
    signal = _codes(uow, third)["fraud.phone"]
    assert signal["evidence"] == {"count": "3", "limit": "2", "window_days": "30"}
    assert set(_codes(uow, third)) == {"fraud.phone"}  # different people, no address: nothing else


def test_many_sales_by_one_store_to_one_buyer(client, uow, world, till) -> None:
    person = _person(uow)  # one buyer, a different phone each time (the phone signal stays quiet)
    bodies = [sale_body(world.store_id, _token(uow, world.store_id, person, f"1370000000{i}"), AC, "3999.00",
                        "2025-05-02") for i in range(3)]
    numbers = _sell_many(client, uow, till, world, bodies)
    assert [set(_codes(uow, n)) for n in numbers] == [set(), set(), {"fraud.store_buyer"}]
    assert _codes(uow, numbers[2])["fraud.store_buyer"]["evidence"]["count"] == "3"


def test_many_deliveries_to_one_address(client, uow, world, till) -> None:
    addresses = ["离石区龙凤南路 8 号 2 单元", "离石区龙凤南路  8 号 2 单元", " 离石区龙凤南路 8 号 2 单元 "]
    bodies = [sale_body(world.store_id, _token(uow, world.store_id, _person(uow), f"1360000000{i}"), AC, "3999.00",
                        "2025-05-03", delivery_address=a) for i, a in enumerate(addresses)]
    numbers = _sell_many(client, uow, till, world, bodies)
    assert [set(_codes(uow, n)) for n in numbers] == [set(), set(), {"fraud.address"}]
    another = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13600000009"), AC, "3999.00",
                        "2025-05-03", delivery_address="离石区龙凤南路 9 号")
    assert _codes(uow, _sell_many(client, uow, till, world, [another])[0]) == {}


def test_a_price_above_the_reference_by_more_than_the_margin(client, uow, world, till) -> None:
    # The air conditioner's reference price is 3,999.00; 10 % above it is 4,398.90.
    at_margin, above = (sale_body(world.store_id, _token(uow, world.store_id, _person(uow), f"1350000000{i}"), AC,
                                  price, "2025-05-04") for i, price in enumerate(("4398.90", "4398.91")))
    quiet, flagged = _sell_many(client, uow, till, world, [at_margin, above])
    assert _codes(uow, quiet) == {}
    assert _codes(uow, flagged)["fraud.price"]["evidence"] == {"price": "4398.91", "reference": "3999.00",
                                                                "margin_percent": "10"}


def _hours(now: dt.datetime, start: int, end: int) -> tuple[dt.time, dt.time]:
    """Store hours from `start` to `end` hours after now (local), wrapping past midnight like a late shop."""
    return ((now + dt.timedelta(hours=start)).time().replace(second=0, microsecond=0),
            (now + dt.timedelta(hours=end)).time().replace(second=0, microsecond=0))


def test_a_sale_outside_the_stores_hours(client, uow, world, till) -> None:
    store = uow.session.get(Store, world.store_id)
    now = beijing_now()
    sold = []
    for start, end, phone in ((-1, 1, "13400000001"), (2, 3, "13400000002")):  # open now, then closed now
        store.opens_at, store.closes_at = _hours(now, start, end)
        uow.commit()
        body = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), phone), FRIDGE, "4599.00", "")
        body.pop("sold_on")  # keyed in at the till now: the time of day is real
        sold += _sell_many(client, uow, till, world, [body])
    quiet, flagged = sold
    assert _codes(uow, quiet) == {}
    evidence = _codes(uow, flagged)["fraud.outside_hours"]["evidence"]
    assert evidence["hours"] == f"{store.opens_at:%H:%M}-{store.closes_at:%H:%M}"
    # A back-dated sale has no real time of day, so it is never flagged for the hours.
    backdated = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13400000003"), FRIDGE,
                          "4599.00", "2026-03-01")
    assert "fraud.outside_hours" not in _codes(uow, _sell_many(client, uow, till, world, [backdated])[0])


def test_a_serial_reported_by_a_second_dealer(client, uow, world, till, demo) -> None:
    other_store = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    body = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13300000001"), AC, "3999.00",
                     "2025-05-05")
    held = _sell_many(client, uow, till, world, [body])[0]
    same_dealer = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13300000002"), AC, "3999.00",
                            "2025-05-05", serial=body["serial_number"])
    assert sell(client, till, same_dealer)[1]["reason"] == "device.already_subsidised"
    assert _codes(uow, held) == {}  # the holder itself retrying is no second dealer
    second = sale_body(other_store, _token(uow, other_store, _person(uow), "13300000003"), AC, "3999.00",
                       "2025-05-05", serial=body["serial_number"])
    status, answer = sell(client, bearer(client, "dealer.xiaoyi"), second)
    assert (status, answer["reason"]) == (409, "device.already_subsidised")
    signal = _codes(uow, held)["fraud.serial_two_dealers"]
    assert signal["evidence"]["dealers"] == "2" and signal["evidence"]["other_dealer"] == "孝义市电器商行有限公司"
    assert uow.session.scalar(select(SerialReport.dealer_org_id)) == demo["org:dealer:xiaoyi"]
    # Once the holder's sale is returned, the first dealer may sell it again: that sale is flagged at the till.
    sale_id = uow.session.scalar(select(ApplianceSale.id).where(ApplianceSale.number == held))
    assert client.post(f"/api/v1/appliance-sales/{sale_id}/return", headers=till,
                       json={"reason": "退货"}).status_code == 200
    again = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13300000004"), AC, "3999.00",
                      "2025-05-06", serial=body["serial_number"])
    assert _codes(uow, _sell_many(client, uow, till, world, [again])[0])["fraud.serial_two_dealers"][
        "evidence"] == {"dealers": "2"}
    from subsidy_app.appliances import signal_tally

    uow.session.expire_all()
    assert signal_tally.stored(uow) == signal_tally.recount(uow)  # the report's own session counted it too


def test_reviewers_see_each_signal_with_its_evidence_in_chinese(client, uow, world, till, demo) -> None:
    phone_bodies = [sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13200000001"), AC,
                              "4500.00" if i == 2 else "3999.00", "2025-05-07") for i in range(3)]
    numbers = _sell_many(client, uow, till, world, phone_bodies)
    other_store = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    sell(client, bearer(client, "dealer.xiaoyi"), sale_body(
        other_store, _token(uow, other_store, _person(uow), "13200000009"), AC, "3999.00", "2025-05-07",
        serial=phone_bodies[0]["serial_number"]))
    response = client.post("/api/v1/appliance-settlements", headers=till,
                           json={"dealer_org_id": world.dealer_org, **MAY})
    statement = response.get_json()
    assert response.status_code == 201 and statement["flagged"] == 2, statement
    auditor = bearer(client, "auditor.lishi")
    lines = {line["number"]: line for line in client.get(
        f"/api/v1/appliance-settlements/{statement['application_id']}", headers=auditor).get_json()["lines"]}
    flagged = {s["code"]: s for s in lines[numbers[2]]["signals"]}
    assert set(flagged) == {"fraud.phone", "fraud.price"}
    assert flagged["fraud.phone"]["detail_zh"] == "同一手机号多次补贴购买(次数 3,阈值 2,统计期 30 天)"
    assert flagged["fraud.price"]["detail_zh"] == \
        "售价高于参考价超过允许幅度(售价 4500.00 元,参考价 3999.00 元,允许上浮 10%)"
    serial = lines[numbers[0]]["signals"][0]
    assert "孝义市电器商行有限公司" in serial["detail_zh"]
    # The application's failed checks carry the same Chinese text and ask for a second reviewer.
    detail = client.get(f"/api/v1/applications/{statement['application_id']}", headers=auditor).get_json()
    failed = [c["explanation_zh"] for c in detail["checks"] if not c["passed"]]
    assert f"销售 {numbers[2]}:同一手机号多次补贴购买(次数 3,阈值 2,统计期 30 天)" in failed
    assert any(numbers[0] in text and "两家经销商" in text for text in failed) and len(failed) == 3
    # The dealer sees its own lines and signals, but not which other dealer reported the serial.
    own = {line["number"]: line for line in client.get(
        f"/api/v1/appliance-settlements/{statement['application_id']}", headers=till).get_json()["lines"]}
    assert own[numbers[0]]["signals"][0]["evidence"] == {"dealers": "2", "reported_at":
                                                         serial["evidence"]["reported_at"]}
    assert not any("孝义" in text for text in failed)
    pool = uow.session.get(BudgetPool, world.pools["appliance"])
    uow.session.refresh(pool)
    assert pool.reserved > 0  # flagged sales were still granted and hold their budget


def test_a_bulk_row_with_a_serial_another_dealer_holds_is_reported_like_at_the_till(
    client, uow, world, till, demo
) -> None:
    import io

    other_store = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    body = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13300000011"), AC, "3999.00",
                     "2025-05-05")
    held = _sell_many(client, uow, till, world, [body])[0]
    row = (f"{AC},{body['serial_number']},3999.00,25140000000000000011,2025-05-05,买家甲,"
           f"{resident_id('14110219700101911')},13300000012\n")
    data = ("商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n" + row).encode()
    response = client.post("/api/v1/appliance-sales/bulk", headers=bearer(client, "dealer.xiaoyi"),
                           content_type="multipart/form-data",
                           data={"store_id": str(other_store), "file": (io.BytesIO(data), "day.csv")})
    report = response.get_json()["report"]
    assert [e["reason"] for e in report["errors"]] == ["device.already_subsidised"]
    assert uow.session.scalar(select(SerialReport.dealer_org_id)) == demo["org:dealer:xiaoyi"]
    assert _codes(uow, held)["fraud.serial_two_dealers"]["evidence"]["dealers"] == "2"


def test_a_serial_reported_after_the_statement_is_put_before_its_reviewers(client, uow, world, till, demo) -> None:
    body = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13300000021"), AC, "3999.00",
                     "2025-05-08")
    held = _sell_many(client, uow, till, world, [body])[0]
    statement = client.post("/api/v1/appliance-settlements", headers=till,
                            json={"dealer_org_id": world.dealer_org, **MAY}).get_json()
    assert statement["flagged"] == 0, statement
    auditor = bearer(client, "auditor.lishi")
    url = f"/api/v1/applications/{statement['application_id']}"
    assert not [c for c in client.get(url, headers=auditor).get_json()["checks"] if not c["passed"]]
    other_store = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    late = sale_body(other_store, _token(uow, other_store, _person(uow), "13300000022"), AC, "3999.00",
                     "2025-05-09", serial=body["serial_number"])
    assert sell(client, bearer(client, "dealer.xiaoyi"), late)[1]["reason"] == "device.already_subsidised"
    failed = [c["explanation_zh"] for c in client.get(url, headers=auditor).get_json()["checks"] if not c["passed"]]
    assert len(failed) == 1 and held in failed[0] and "两家经销商" in failed[0] and "孝义" not in failed[0]
    # Flagged late, the statement now needs a second reviewer like one flagged from the start.
    first = client.post(f"{url}/review", json={"action": "approve"}, headers=auditor)
    assert first.status_code == 200 and first.get_json()["state"] == "pending_second_review", first.get_json()


def test_the_till_still_gets_its_409_when_the_clash_cannot_be_recorded(client, uow, world, till, demo,
                                                                        monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from subsidy_app.appliances import selling

    other_store = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    body = sale_body(world.store_id, _token(uow, world.store_id, _person(uow), "13300000031"), AC, "3999.00",
                     "2025-05-05")
    _sell_many(client, uow, till, world, [body])
    attempts = []

    def deadlocked(*args, **kwargs):
        attempts.append(1)
        raise OperationalError("UPDATE application ...", {}, Exception("deadlock detected"))

    monkeypatch.setattr(selling, "note_serial_clash", deadlocked)
    second = sale_body(other_store, _token(uow, other_store, _person(uow), "13300000032"), AC, "3999.00",
                       "2025-05-05", serial=body["serial_number"])
    status, answer = sell(client, bearer(client, "dealer.xiaoyi"), second)
    assert (status, answer["reason"]) == (409, "device.already_subsidised")
    assert len(attempts) == 2  # tried once more before giving up (and logging)
