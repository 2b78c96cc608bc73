"""Recycling and recovery endpoints: certificates with QR verification, intakes, files, transfers, reports."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from recycling import targets
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from tests.helpers import bearer, login
from tests.recycling_support import ACTOR, build_network, make_vin

YESTERDAY = (business_date() - dt.timedelta(days=1)).isoformat()
CERTIFICATE = {
    "number": "API-0001", "owner_name": "王小明", "owner_id_number": "11010519491231002X", "phone": "13812345678",
    "handover_date": YESTERDAY, "first_registration_date": "2012-05-01", "plate": "晋J12345",
    "vehicle_type": "vehicle.passenger", "use_type": "A", "make_model": "大众 桑塔纳", "vin": "LTA1278U35X132040",
    "curb_weight_kg": "1180", "fuel_type": "1", "engine_number": "E0001",
}


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]):
    return build_network(uow, demo)


@pytest.fixture
def clerk(client: FlaskClient, network) -> dict[str, str]:
    return bearer(client, "recycler.dismantler")


def test_clerk_issues_a_certificate_whose_qr_verifies_publicly_with_masked_details(
        client: FlaskClient, clerk: dict[str, str]) -> None:
    created = client.post("/api/v1/recycling/certificates", json=CERTIFICATE, headers=clerk)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["owner_id_number"] == "1101**********002X"
    png = client.get(f"/api/v1/recycling/certificates/{body['id']}/qr.png", headers=clerk)
    svg = client.get(f"/api/v1/recycling/certificates/{body['id']}/qr.svg", headers=clerk)
    assert png.data.startswith(b"\x89PNG") and b"<svg" in svg.data
    path = body["verify_url"].split("://", 1)[1].split("/", 1)[1]
    assert f"/{body['id']}" not in path.replace("/verify/certificate", "")
    page = client.get("/" + path).get_data(as_text=True)
    assert "LTA1*********2040" in page and "有效（未使用）" in page
    assert "LTA1278U35X132040" not in page and "11010519491231002X" not in page and "13812345678" not in page
    forged = client.get("/verify/certificate/not-a-token")
    assert forged.status_code == 400 and "未能核验" in forged.get_data(as_text=True)


def test_invalid_vin_is_a_422_naming_the_field(client: FlaskClient, clerk: dict[str, str]) -> None:
    response = client.post("/api/v1/recycling/certificates", json={**CERTIFICATE, "vin": "LTA1278U45X132040"},
                           headers=clerk)
    assert response.status_code == 422
    assert response.get_json()["reason"] == "identifier.vin.check_digit"
    assert "vin" in response.get_json()["errors"]


def test_certificates_are_visible_only_within_scope(client: FlaskClient, clerk: dict[str, str]) -> None:
    certificate_id = client.post("/api/v1/recycling/certificates", json=CERTIFICATE, headers=clerk).get_json()["id"]
    url = f"/api/v1/recycling/certificates/{certificate_id}"
    assert client.get(url, headers=bearer(client, "recycler.renewable")).status_code == 404
    assert client.get(url, headers=bearer(client, "auditor.xiaoyi")).status_code == 404
    assert client.get(url, headers=bearer(client, "auditor.lishi")).status_code == 200
    revoke = client.post(f"{url}/revoke", json={"reason": "录入错误"}, headers=clerk)
    assert revoke.status_code == 200 and revoke.get_json()["state"] == "revoked"


def test_intake_import_and_transfer_through_the_api(client: FlaskClient, clerk: dict[str, str], network) -> None:
    intake = {"site_id": network.drop_off, "source": "resident", "category": "appliance.refrigerator", "units": 2,
              "weight_kg": "100.5", "occurred_on": YESTERDAY}
    created = client.post("/api/v1/recycling/intakes", json=intake, headers=clerk)
    assert created.status_code == 201 and created.get_json()["weight_kg"] == "100.500"
    content = ("site_code,source,category,units,weight_kg,occurred_on\n"
               f"T-drop_off,resident,appliance.television,1,20,{YESTERDAY}\n").encode()
    upload = client.post("/api/v1/recycling/intake-imports?mode=valid_only", headers=clerk,
                         content_type="multipart/form-data", data={"file": (io.BytesIO(content), "tv.csv")})
    assert upload.status_code == 201 and upload.get_json()["rows_written"] == 1
    again = client.post("/api/v1/recycling/intake-imports", headers=clerk, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(content), "tv-copy.csv")})
    assert again.status_code == 409 and again.get_json()["reason"] == "import.duplicate"
    move = {"from_site_id": network.drop_off, "to_site_id": network.transfer, "category": "appliance.refrigerator",
            "units": 3, "weight_kg": "100", "occurred_on": YESTERDAY}
    refused = client.post("/api/v1/recycling/transfers", json=move, headers=clerk)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "stock.insufficient"
    huge = client.post("/api/v1/recycling/transfers", json={**move, "weight_kg": 8.4e48}, headers=clerk)
    assert huge.status_code == 422 and "weight_kg" in huge.get_json()["errors"]  # was a 500 (found by fuzzing)
    assert client.post("/api/v1/recycling/transfers", json={**move, "units": 2}, headers=clerk).status_code == 201
    stock = client.get(f"/api/v1/recycling/sites/{network.transfer}/stock", headers=clerk).get_json()
    assert stock == [{"category": "appliance.refrigerator", "units": 2, "weight_kg": "100.000"}]


def test_dealer_registers_used_cars_and_bureau_reads_progress_within_its_counties(
        client: FlaskClient, uow: UnitOfWork, network) -> None:
    targets.load_shipped(uow, actor=ACTOR)
    dealer = bearer(client, "dealer.car")
    car = {"vin": make_vin(3), "transferred_on": YESTERDAY, "price": "45000.00", "county_code": "141102"}
    assert client.post("/api/v1/recovery/used-car-transactions", json=car, headers=dealer).get_json()["counted"]
    assert not client.post("/api/v1/recovery/used-car-transactions", json=car, headers=dealer).get_json()["counted"]
    absurd = client.post("/api/v1/recovery/used-car-transactions", json={**car, "price": "1e30"}, headers=dealer)
    assert absurd.status_code == 422 and "price" in absurd.get_json()["errors"]
    auditor = bearer(client, "auditor.lishi")
    progress = client.get("/api/v1/recovery/progress?indicator=used_cars", headers=auditor)
    assert progress.status_code == 200 and progress.get_json()["ytd"] == "1.00"
    assert Decimal(progress.get_json()["forecast"]) >= 0  # one car against the baseline once forecast below zero
    other = client.get("/api/v1/recovery/progress?indicator=used_cars&county_code=141181", headers=auditor)
    assert other.status_code == 404
    year = business_date().year
    grid = client.get(f"/api/v1/recovery/volumes?year={year}", headers=auditor).get_json()
    assert {(c["county_code"], c["category"], c["units"]) for c in grid} == {("141102", "used_car", 1)}
    series = client.get(f"/api/v1/recovery/series?indicator=used_cars&year={year}", headers=auditor).get_json()
    assert len(series["points"]) == 12 and series["counties"] == ["141102"]
    assert client.get("/api/v1/recovery/progress?indicator=used_cars", headers=dealer).status_code == 403


def test_reports_are_made_listed_and_downloaded(client: FlaskClient, network) -> None:
    admin = bearer(client, "admin")
    made = client.post("/api/v1/recovery/reports", json={"period": "2026-01-1"}, headers=admin)
    assert made.status_code == 202
    listed = client.get("/api/v1/recovery/reports", headers=admin).get_json()
    assert [r["period"] for r in listed] == ["2026-01-1"]
    download = client.get(listed[0]["download_url"], headers=admin)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "报废机动车" in load_workbook(io.BytesIO(download.data)).sheetnames
    assert client.post("/api/v1/recovery/reports", json={"period": "2026-1"}, headers=admin).status_code == 422


def test_clerk_records_an_intake_through_the_web_form(client: FlaskClient, network) -> None:
    csrf = login(client, "recycler.dismantler")
    page = client.get("/recycling/intake")
    assert page.status_code == 200 and "登记回收记录" in page.get_data(as_text=True)
    posted = client.post("/recycling/intake", data={
        "csrf_token": csrf, "site_id": network.drop_off, "source": "resident", "category": "office.printer",
        "units": "1", "weight_kg": "8.5", "occurred_on": YESTERDAY})
    assert posted.status_code == 302
    bad = client.post("/recycling/intake", data={
        "csrf_token": csrf, "site_id": network.drop_off, "source": "resident", "category": "office.printer",
        "units": "1", "weight_kg": "-1", "occurred_on": YESTERDAY})
    assert bad.status_code == 422 and "重量不能为负" in bad.get_data(as_text=True)


def test_clerk_issues_a_certificate_through_the_web_form(client: FlaskClient, network) -> None:
    csrf = login(client, "recycler.dismantler")
    assert "出具报废机动车回收证明" in client.get("/recycling/certificates/new").get_data(as_text=True)
    form = {**CERTIFICATE, "csrf_token": csrf, "site_id": str(network.sorting), "number": "WEB-0001"}
    posted = client.post("/recycling/certificates/new", data=form)
    assert posted.status_code == 302, posted.get_data(as_text=True)
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "WEB-0001" in page and "qr.svg" in page
    again = client.post("/recycling/certificates/new", data=form)
    assert again.status_code == 422 and "证明编号已使用" in again.get_data(as_text=True)
    # Every other field right and the site not a number: the form says so (it was a 500).
    odd_site = client.post("/recycling/certificates/new", data={**form, "number": "WEB-0002", "site_id": "abc"})
    assert odd_site.status_code == 422 and "应为整数" in odd_site.get_data(as_text=True)


def test_public_verification_page_is_rate_limited(database_url: str, session_factory, network, uow) -> None:
    from recycling import issuing
    from subsidy_app.app import create_app
    from tests.conftest import _settings_dict, make_settings
    from tests.recycling_support import CertificateDraftFactory

    certificate_id = issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                               draft=CertificateDraftFactory())
    settings = make_settings(database_url, rate_limits=True, public_rate_limit="2 per minute")
    app = create_app({**_settings_dict(settings), "session_factory": session_factory})
    token = issuing.verification_token(uow, certificate_id=certificate_id, secret_key=settings.secret_key)
    client = app.test_client()
    codes = [client.get(f"/verify/certificate/{token}").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_dealer_pickup_closes_the_loop_and_bureau_sees_the_closure_rate(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int], network) -> None:
    from recycling.closed_loop import register_hand_in_obligation

    register_hand_in_obligation(uow, trade_in_ref="API-HAND-1", kind="appliance",
                                dealer_org_id=demo["org:dealer:appliance"], county_code="141102",
                                category="appliance.refrigerator", occurred_on=business_date() - dt.timedelta(days=2))
    dealer = bearer(client, "dealer.appliance")
    assert [o["status"] for o in client.get("/api/v1/recovery/hand-ins", headers=dealer).get_json()] == ["open"]
    other = client.post("/api/v1/recovery/hand-ins/API-HAND-1/pickup", json={"picked_up_on": YESTERDAY},
                        headers=bearer(client, "dealer.car"))
    assert other.status_code == 404
    picked = client.post("/api/v1/recovery/hand-ins/API-HAND-1/pickup",
                         json={"picked_up_on": YESTERDAY, "site_id": network.drop_off, "weight_kg": "55"},
                         headers=dealer)
    assert picked.status_code == 200 and picked.get_json()["status"] == "closed"
    closure = client.get("/api/v1/recovery/hand-ins/closure?by=dealer", headers=bearer(client, "auditor.lishi"))
    assert [(r["name"], r["closed"], r["closure_rate"]) for r in closure.get_json()] == [
        ("离石区家电城有限公司", 1, "100.0")]
