"""Issue 16 §4: a second dealer reporting a serial after the holder's sale went on a statement adds the failed
check to that statement, whichever way the report comes (the till's API, the till page, a bulk file), and the
undecided statement then needs a second reviewer."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from subsidy_app.appliances import bulk_write
from subsidy_app.appliances.demo import prepare_store
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.core.uow import UnitOfWork
from tests.api.test_appliance_bulk_api import HEADER
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import resident_id
from tests.helpers import bearer, login

MAY = {"programme": "appliance", "period_start": "2025-05-01", "period_end": "2025-05-31"}


def _by_api(client: FlaskClient, uow: UnitOfWork, store: int, serial: str) -> None:
    body = sale_body(store, buyer_token(uow, store, 951), AC, "3999.00", "2025-05-09", serial=serial)
    assert sell(client, bearer(client, "dealer.xiaoyi"), body)[1]["reason"] == "device.already_subsidised"


def _by_till_page(client: FlaskClient, uow: UnitOfWork, store: int, serial: str) -> None:
    csrf = login(client, "dealer.xiaoyi")
    form = {"store_id": str(store), "gtin": AC, "price": "3999.00", "serial_number": serial,
            "invoice_number": f"2614{9511:016d}", "invoice_code": "", "delivery_address": "", "mode": "instant",
            "buyer_token": buyer_token(uow, store, 952), "buyer_name": "", "buyer_id_number": "", "buyer_phone": "",
            "buyer_code": "", "csrf_token": csrf}
    response = client.post("/dealer/appliances/till", data=form)
    assert response.status_code == 409 and "已享受过补贴" in response.get_data(as_text=True)


def _by_bulk(client: FlaskClient, uow: UnitOfWork, store: int, serial: str) -> None:
    buyer = resident_id("14110219700101953")
    row = f"{AC},{serial},3999.00,25140000000000009531,2025-05-09,买家甲,{buyer},13300000953\n"
    response = client.post("/api/v1/appliance-sales/bulk", headers=bearer(client, "dealer.xiaoyi"),
                           content_type="multipart/form-data",
                           data={"store_id": str(store), "file": (io.BytesIO((HEADER + row).encode()), "late.csv")})
    assert [e["reason"] for e in response.get_json()["report"]["errors"]] == ["device.already_subsidised"]


PATHS: dict[str, Callable[[FlaskClient, UnitOfWork, int, str], None]] = {
    "till API": _by_api, "till page": _by_till_page, "bulk file": _by_bulk}


@pytest.mark.parametrize("path", PATHS)
def test_a_late_report_reaches_the_holders_statement_which_then_needs_a_second_reviewer(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int], path: str) -> None:
    world = appliance_world(uow, demo)
    till = bearer(client, "dealer.appliance")
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 950), AC, "3999.00", "2025-05-08")
    status, held = sell(client, till, body)
    assert status == 200 and held["eligible"], held
    statement = client.post("/api/v1/appliance-settlements", headers=till,
                            json={"dealer_org_id": world.dealer_org, **MAY}).get_json()
    assert statement["flagged"] == 0, statement
    other = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    PATHS[path](client, uow, other, body["serial_number"])
    auditor = bearer(client, "auditor.lishi")
    url = f"/api/v1/applications/{statement['application_id']}"
    detail = client.get(url, headers=auditor).get_json()
    failed = [c["explanation_zh"] for c in detail["checks"] if not c["passed"]]
    assert len(failed) == 1 and held["number"] in failed[0] and "两家经销商" in failed[0], failed
    first = client.post(f"{url}/review", json={"action": "approve"}, headers=auditor)
    assert first.status_code == 200 and first.get_json()["state"] == "pending_second_review", first.get_json()


def test_a_bulk_row_that_loses_the_race_to_a_till_still_reports_the_serial(
        app: Flask, client: FlaskClient, uow: UnitOfWork, demo: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The file's check saw the serial free; a till of the first dealer sold it before the file's INSERT.
    world = appliance_world(uow, demo)
    other = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 960), AC, "3999.00", "2025-05-08")
    checked = bulk_write._unique
    sold: dict[str, Any] = {}
    till_client = app.test_client()
    till = bearer(till_client, "dealer.appliance")

    def then_a_till_sells(*args: Any) -> Any:
        kept = checked(*args)
        sold.update(sell(till_client, till, body)[1])
        return kept

    monkeypatch.setattr(bulk_write, "_unique", then_a_till_sells)
    _by_bulk(client, uow, other, body["serial_number"])
    assert sold["eligible"], sold
    uow.session.expire_all()
    holder = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.number == sold["number"]))
    assert holder is not None
    assert [s["code"] for s in holder.signals] == ["fraud.serial_two_dealers"]


def test_the_late_check_joins_the_run_reviewers_read_when_there_are_several(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    from sqlalchemy import insert

    from subsidy_app.applications.models import ApplicationCheck
    from subsidy_app.core.db import utcnow

    world = appliance_world(uow, demo)
    till = bearer(client, "dealer.appliance")
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 970), AC, "3999.00", "2025-05-08")
    held = sell(client, till, body)[1]
    statement = client.post("/api/v1/appliance-settlements", headers=till,
                            json={"dealer_org_id": world.dealer_org, **MAY}).get_json()
    # A later run of checks (as a correction's re-check makes): reviewers and the queue read only that one.
    uow.session.execute(insert(ApplicationCheck).values(
        application_id=statement["application_id"], run=2, code="rule.example", passed=True, checked_at=utcnow(),
        explanation_zh="示例", explanation_en="example"))
    other = prepare_store(uow, dealer_org_id=demo["org:dealer:xiaoyi"], name="孝义店")
    uow.commit()
    _by_api(client, uow, other, body["serial_number"])
    detail = client.get(f"/api/v1/applications/{statement['application_id']}",
                        headers=bearer(client, "auditor.lishi")).get_json()
    failed = [c["explanation_zh"] for c in detail["checks"] if not c["passed"]]
    assert len(failed) == 1 and held["number"] in failed[0], detail["checks"]
