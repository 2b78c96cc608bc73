"""Registry over HTTP and the command line: admins import, auditors look up with the owner masked."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.vehicles import services
from subsidy_app.vehicles.demo import DEMO_OWNER_ID, DEMO_REGISTRY_CSV
from tests.car_fixtures import car_world
from tests.helpers import bearer


def test_admin_uploads_a_registry_file_and_gets_the_row_report(client: FlaskClient, demo: dict[str, int]) -> None:
    bad = DEMO_REGISTRY_CSV + "LSVAU2188E2000001,晋J12345,小型轿车,非营运,汽油,2011-05-20,x,2011-05-20,,,\n".encode()
    response = client.post("/api/v1/vehicle-registry/imports", headers=bearer(client, "admin"),
                           data={"file": (io.BytesIO(bad), "registry.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    wrong_vin = {"line": 6, "field": "vin", "reason": "identifier.vin.check_digit",
                 "message": "车辆识别代号校验位错误 / VIN check digit is wrong"}
    assert body["created"] == 4 and body["rejected"] == [wrong_vin]


def test_auditors_may_not_import_and_a_missing_file_is_422(client: FlaskClient, demo: dict[str, int]) -> None:
    auditor = bearer(client, "auditor.lishi")
    assert client.post("/api/v1/vehicle-registry/imports", headers=auditor,
                       data={"file": (io.BytesIO(DEMO_REGISTRY_CSV), "r.csv")}).status_code == 403
    missing = client.post("/api/v1/vehicle-registry/imports", headers=bearer(client, "admin"), data={})
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]


def test_auditor_looks_up_a_vin_with_the_owner_masked(client: FlaskClient, demo: dict[str, int],
                                                      uow: UnitOfWork) -> None:
    services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    uow.commit()
    headers = bearer(client, "senior.city")  # city level: every county's vehicles
    body = client.get("/api/v1/vehicles/LSGZB5463F0000004", headers=headers).get_json()
    assert body["owner_id"] == "1411**********0018" and DEMO_OWNER_ID not in str(body)
    assert body["deregistered"] is True and body["fuel"] == "petrol"
    assert body["owners"] == [{"owner_id": "1411**********0018", "owner_since": "2012-01-15"}]
    assert client.get("/api/v1/vehicles/1M8GDM9AXKP042788", headers=headers).status_code == 404
    bad = client.get("/api/v1/vehicles/NOTAVIN", headers=headers)
    assert bad.status_code == 422 and "vin" in bad.get_json()["errors"]
    assert client.get("/api/v1/vehicles/LSGZB5463F0000004", headers=bearer(client, "dealer.car")).status_code == 403


def test_admin_records_a_deregistration_certificate(client: FlaskClient, demo: dict[str, int],
                                                    uow: UnitOfWork) -> None:
    services.import_records(uow, actor="t", filename="r.csv", data=DEMO_REGISTRY_CSV)
    uow.commit()
    response = client.put("/api/v1/vehicles/LSVAU2189E2000001/deregistration", headers=bearer(client, "admin"),
                          json={"certificate_number": "晋J注2026001", "deregistered_on": "2026-02-01"})
    assert response.status_code == 200 and response.get_json()["deregistered"] is True


def test_a_county_auditor_sees_and_deregisters_only_vehicles_of_their_county(client: FlaskClient,
                                                                            demo: dict[str, int],
                                                                            uow: UnitOfWork) -> None:
    world = car_world(uow, demo, deregistered=False)  # certificate issued in 离石区 (141102)
    body = {"certificate_number": "ZX2026000001", "deregistered_on": "2026-05-25"}
    url = f"/api/v1/vehicles/{world.old_vin}"
    other = bearer(client, "auditor.xiaoyi")
    assert client.get(url, headers=other).status_code == 404
    refused = client.put(f"{url}/deregistration", json=body, headers=other)
    assert refused.status_code == 404 and refused.get_json()["reason"] == "vehicle.not_found"
    assert services.LocalVehicleRegistry(uow).lookup(world.old_vin).deregistered is False
    own = bearer(client, "auditor.lishi")
    assert client.get(url, headers=own).status_code == 200
    recorded = client.put(f"{url}/deregistration", json=body, headers=own)
    assert recorded.status_code == 200 and recorded.get_json()["deregistered"] is True


def test_cli_import_prints_the_report_and_is_idempotent(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "registry.csv"
    path.write_bytes(DEMO_REGISTRY_CSV.decode().encode("gbk"))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["registry", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "accepted 4 (created 4" in first.output
    second = runner.invoke(args=["registry", "import", str(path)])
    assert "unchanged 4" in second.output
    path.write_bytes(DEMO_REGISTRY_CSV + b"LSVAU2188E2000001,x,x,x,x,x,x,x,,,\n")
    third = runner.invoke(args=["registry", "import", str(path)])
    assert third.exit_code == 1 and "line 6: 车辆识别代号 (vin)" in third.output
