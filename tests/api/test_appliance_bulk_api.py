"""Bulk sales files: every row evaluated, bad rows reported by line and field, re-uploads recognised."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.appliances.demo import demo_gtin
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.seed import seed_demo
from tests.appliance_fixtures import FRIDGE_G3, PHONE, TABLET, appliance_world, imei
from tests.car_fixtures import resident_id
from tests.helpers import bearer

HEADER = "商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"
BAD = {  # line offset → (row override, expected field, expected reason)
    3: ({"gtin": "6900000000999"}, "gtin", "identifier.gtin.check_digit"),
    10: ({"serial": "350000000000001", "gtin": PHONE}, "serial_number", "identifier.imei.check_digit"),
    20: ({"price": "abc"}, "price", "sale.price"),
    30: ({"price": "6000.01"}, "price", "rule.price.unit_ceiling"),
    40: ({"sold_on": "2025-13-01"}, "sold_on", "sale.date"),
    50: ({"gtin": demo_gtin(99)}, "gtin", "product.not_in_catalogue"),
    60: ({"serial": "dup"}, "serial_number", "device.already_subsidised"),
    70: ({"invoice": "dup"}, "invoice_number", "invoice.already_subsidised"),
    80: ({"id_number": "141102199001010000"}, "buyer_id_number", "identifier.resident_id.check_digit"),
    90: ({"gtin": FRIDGE_G3}, "gtin", "rule.energy_grade.allowed"),
}


def sales_file(rows: int) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """Build a CSV of `rows` sales (distinct buyers) with the ten bad rows of BAD; return it and the expectations."""
    lines, expected = [HEADER], {}
    day = dt.date(1960, 1, 1)
    for i in range(rows):
        override, field, reason = BAD.get(i, ({}, None, None))
        gtin = override.get("gtin", PHONE if i % 2 else TABLET)
        serial = imei(50_000 + i) if gtin == PHONE else f"TB{i:08d}"
        serial = override.get("serial", serial)
        if serial == "dup":
            gtin, serial = PHONE, imei(50_000 + 1)
        invoice = f"2514{i:016d}" if override.get("invoice") != "dup" else f"2514{2:016d}"
        birth = day + dt.timedelta(days=i // 500)
        id_number = override.get("id_number", resident_id(f"141102{birth:%Y%m%d}{i % 500:03d}"))
        lines.append(f"{gtin},{serial},{override.get('price', '2699.00')},{invoice},"
                     f"{override.get('sold_on', '2025-03-01')},买家{i},{id_number},139{i:08d}\n")
        if field:
            expected[i + 2] = (field, reason)
    return "".join(lines).encode("utf-8"), expected


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo, pool_amount="100000000.00")


def _upload(client: FlaskClient, headers: dict[str, str], store_id: int, data: bytes, name: str = "day.csv"):
    return client.post("/api/v1/appliance-sales/bulk", headers=headers, content_type="multipart/form-data",
                       data={"store_id": str(store_id), "file": (io.BytesIO(data), name)})


def test_a_small_file_reports_exactly_its_bad_rows_and_a_reupload_changes_nothing(client, uow, world) -> None:
    headers = bearer(client, "dealer.appliance")
    data, expected = sales_file(100)
    response = _upload(client, headers, world.store_id, data)
    body = response.get_json()
    assert response.status_code == 200, body
    report = body["report"]
    assert {e["line"]: (e["field"], e["reason"]) for e in report["errors"]} == expected
    assert report["accepted_count"] == 90
    again = _upload(client, headers, world.store_id, data, name="renamed.csv").get_json()
    assert again["already_uploaded"] and again["upload_id"] == body["upload_id"]
    assert uow.session.scalar(select(func.count()).select_from(ApplianceSale)) == 90


def test_10000_rows_with_10_bad_run_as_a_job_and_report_exactly_those(postgres, committed_app,
                                                                     committed_uow) -> None:
    # Real commits: the job commits every 500 rows, as it does in production.
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount="100000000.00")
    client = committed_app.test_client()
    headers = bearer(client, "dealer.appliance")
    data, expected = sales_file(10_000)
    response = _upload(client, headers, world.store_id, data)
    body = response.get_json()
    assert response.status_code == 200 and body["job_id"] is not None, body
    job = client.get(body["status_url"], headers=headers).get_json()
    assert job["state"] == "done", job
    report = client.get(f"/api/v1/appliance-sales/bulk/{body['upload_id']}", headers=headers).get_json()["report"]
    assert {e["line"]: (e["field"], e["reason"]) for e in report["errors"]} == expected
    assert report["accepted_count"] == 9_990
