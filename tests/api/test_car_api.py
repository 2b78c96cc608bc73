"""The car path over HTTP: dealers' sales with QR codes, review and payment endpoints, scopes and errors."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from subsidy_app.core.uow import UnitOfWork
from tests.car_fixtures import APPLICANT_ID, car_world, submit, vin
from tests.helpers import bearer

SALE = {"new_vin": "", "invoice_number": "26140000000000000777", "invoice_date": "2026-06-01",
        "invoice_total": "150000.00", "new_vehicle_type": "nev", "nev_catalogue_ref": "2026-第3批",
        "buyer_name": "张三", "buyer_id_number": APPLICANT_ID}


def test_dealer_registers_a_sale_and_gets_a_signed_qr(client: FlaskClient, demo: dict[str, int]) -> None:
    headers = bearer(client, "dealer.car")
    response = client.post("/api/v1/car-sales", json={**SALE, "new_vin": vin(77)}, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["buyer_id_masked"] == "1101**********002X"
    assert "/m/car/" in body["apply_url"] and str(body["id"]) not in body["apply_url"].rsplit("/", 1)[1].split(".")[1:]
    png = client.get(body["qr_png_url"], headers=headers)
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get(body["qr_svg_url"], headers=headers)
    assert svg.status_code == 200 and b"<svg" in svg.data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"new_vin": "LSVAB2C10R0000771"}, "new_vin"),  # wrong check digit
        ({"buyer_id_number": "110105194912310021"}, "buyer_id_number"),
        ({"invoice_number": "123"}, "invoice_number"),
        ({"new_vehicle_type": "fuel"}, "displacement_l"),
        ({"invoice_total": "-1"}, "invoice_total"),
    ],
)
def test_bad_sale_fields_are_422_and_nothing_is_written(client: FlaskClient, demo: dict[str, int], uow: UnitOfWork,
                                                        change: dict[str, str], field: str) -> None:
    from sqlalchemy import func, select

    from subsidy_app.applications.models import CarSale

    headers = bearer(client, "dealer.car")
    response = client.post("/api/v1/car-sales", json={**SALE, "new_vin": vin(78), **change}, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert uow.session.scalar(select(func.count()).select_from(CarSale)) == 0


def test_only_dealers_register_sales_and_see_their_own(client: FlaskClient, demo: dict[str, int]) -> None:
    car = bearer(client, "dealer.car")
    sale_id = client.post("/api/v1/car-sales", json={**SALE, "new_vin": vin(79)}, headers=car).get_json()["id"]
    assert client.post("/api/v1/car-sales", json={**SALE, "new_vin": vin(80)},
                       headers=bearer(client, "auditor.lishi")).status_code == 403
    assert client.get(f"/api/v1/car-sales/{sale_id}", headers=bearer(client, "dealer.appliance")).status_code == 404
    assert client.get(f"/api/v1/car-sales/{sale_id}", headers=bearer(client, "auditor.xiaoyi")).status_code == 404


def test_review_and_pay_over_http_and_import_the_bank_file_twice(client: FlaskClient, demo: dict[str, int],
                                                                 uow: UnitOfWork) -> None:
    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    auditor = bearer(client, "auditor.lishi")
    queue = client.get("/api/v1/applications?state=pending_review", headers=auditor).get_json()
    assert [a["id"] for a in queue] == [app_id]
    detail = client.get(f"/api/v1/applications/{app_id}", headers=auditor).get_json()
    assert detail["applicant_id_number"] == APPLICANT_ID and all(c["passed"] for c in detail["checks"])
    assert client.get(f"/api/v1/applications/{app_id}", headers=bearer(client, "auditor.xiaoyi")).status_code == 404
    refused = client.post(f"/api/v1/applications/{app_id}/review", json={"action": "reject"}, headers=auditor)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "application.invalid_transition"
    approved = client.post("/api/v1/applications/batch-approve", json={"application_ids": [app_id]}, headers=auditor)
    assert approved.get_json()["approved"] == [app_id]
    finance = bearer(client, "finance.city")
    batch = client.post("/api/v1/payment-batches", headers=finance, json={
        "application_ids": [app_id], "declared_count": 1, "declared_total": "18000.00"}).get_json()
    bank_file = client.get(f"/api/v1/payment-batches/{batch['id']}/bank-file?format=csv", headers=finance)
    assert bank_file.status_code == 200 and b"6222020000000000018" in bank_file.data
    assert client.get(f"/api/v1/payment-batches/{batch['id']}/bank-file", headers=auditor).status_code == 403
    number = detail["number"]
    result = f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},18000.00,成功,B1,\n".encode()
    first = client.post(f"/api/v1/payment-batches/{batch['id']}/results", headers=finance,
                        data={"file": (io.BytesIO(result), "result.csv")}, content_type="multipart/form-data")
    second = client.post(f"/api/v1/payment-batches/{batch['id']}/results", headers=finance,
                         data={"file": (io.BytesIO(result), "result.csv")}, content_type="multipart/form-data")
    assert first.get_json()["paid"] == [number]
    assert second.get_json()["already_imported"] is True
    assert client.get(f"/api/v1/applications/{app_id}", headers=auditor).get_json()["state"] == "paid"
