"""Every upload × every kind of bad file: 422 naming `file`, the reason in Chinese and English, nothing written."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.tables import MAX_ROWS
from subsidy_app.core.uow import UnitOfWork
from tests.helpers import bearer, login

Post = Callable[[bytes, str], TestResponse]


@dataclass(frozen=True)
class Upload:
    """An upload endpoint ready to take a file, the header its table needs and the tables it writes."""

    post: Post
    header: str
    tables: tuple[Any, ...]
    html: bool = False


def _empty_workbook() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


# kind → (file for a header, file name, reason): each a mistake in the file as a whole, not in one of its rows.
KINDS: dict[str, tuple[Callable[[str], bytes], str, str]] = {
    "undecodable": (lambda _h: b"\x81\xff\xfe", "t.csv", "file.encoding"),
    "not_a_workbook": (lambda h: h.encode() + b"\n", "t.xlsx", "file.unreadable"),
    "truncated_workbook": (lambda _h: _empty_workbook()[:200], "t.xlsx", "file.unreadable"),
    "empty": (lambda _h: b"", "t.csv", "file.empty"),
    "empty_workbook": (lambda _h: _empty_workbook(), "t.xlsx", "file.empty"),
    "no_header_row": (lambda _h: b"\r\n,,,\r\n \r\n", "t.csv", "file.empty"),
    "data_without_header": (lambda h: (",".join(["1"] * (h.count(",") + 1)) + "\n") .encode() * 2, "t.csv",
                            "file.header"),
    "missing_column": (lambda h: (h.split(",", 1)[1] + "\n" + "x," * h.count(",") + "\n").encode(), "t.csv",
                       "file.header"),
    "too_many_rows": (lambda h: (h + "\n" + "1\n" * (MAX_ROWS + 1)).encode(), "t.csv", "file.too_many_rows"),
}


def _counts(uow: UnitOfWork, tables: tuple[Any, ...]) -> list[int]:
    return [uow.session.scalar(select(func.count()).select_from(t)) or 0
            for t in (*tables, OutboxMessage, AuditEvent)]


def _multipart(client: FlaskClient, url: str, headers: dict[str, str], **form: str) -> Post:
    return lambda data, name: client.post(url, headers=headers, content_type="multipart/form-data",
                                          data={**form, "file": (io.BytesIO(data), name)})


def _registry(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> Upload:
    from subsidy_app.vehicles.domain import HEADERS
    from subsidy_app.vehicles.models import VehicleOwnership, VehicleRecordRow

    post = _multipart(client, "/api/v1/vehicle-registry/imports", bearer(client, "admin"))
    return Upload(post, ",".join(HEADERS), (VehicleRecordRow, VehicleOwnership))


def _catalogue(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> Upload:
    from subsidy_app.appliances.models import Product

    post = _multipart(client, "/api/v1/appliance-products/import", bearer(client, "auditor.lishi"))
    return Upload(post, "gtin,category,brand,model,energy_grade,water_grade,reference_price", (Product,))


def _appliance_bulk(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> Upload:
    from subsidy_app.appliances.models import ApplianceSale, BulkUpload
    from tests.appliance_fixtures import appliance_world

    world = appliance_world(uow, demo)
    post = _multipart(client, "/api/v1/appliance-sales/bulk", bearer(client, "dealer.appliance"),
                      store_id=str(world.store_id))
    return Upload(post, "商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号",
                  (BulkUpload, ApplianceSale))


def _intake(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> Upload:
    from recycling.models import Intake, IntakeImport
    from tests.recycling_support import build_network

    build_network(uow, demo)
    post = _multipart(client, "/api/v1/recycling/intake-imports?mode=valid_only", bearer(client, "recycler.dismantler"))
    return Upload(post, "site_code,source,category,units,weight_kg,occurred_on", (IntakeImport, Intake))


def exported_batch(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> tuple[int, str]:
    """Approve one car application, put it in a batch and export the bank file; return the batch id and number."""
    from tests.car_fixtures import car_world, submit

    app_id = submit(uow, car_world(uow, demo)).application_id
    auditor = bearer(client, "auditor.lishi")
    assert client.post("/api/v1/applications/batch-approve", json={"application_ids": [app_id]},
                       headers=auditor).get_json()["approved"] == [app_id]
    finance = bearer(client, "finance.city")
    batch = client.post("/api/v1/payment-batches", headers=finance, json={
        "application_ids": [app_id], "declared_count": 1, "declared_total": "18000.00"}).get_json()
    assert client.get(f"/api/v1/payment-batches/{batch['id']}/bank-file?format=csv", headers=finance).status_code == 200
    number = client.get(f"/api/v1/applications/{app_id}", headers=auditor).get_json()["number"]
    return batch["id"], number


def _paid_lines() -> Any:
    from subsidy_app.applications.models import PaymentLine

    return select(PaymentLine).where(PaymentLine.state != "pending").subquery()


def _bank_results(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> Upload:
    from subsidy_app.applications.models import BankResultImport

    batch_id, _number = exported_batch(client, uow, demo)
    post = _multipart(client, f"/api/v1/payment-batches/{batch_id}/results", bearer(client, "finance.city"))
    return Upload(post, "序号,申请编号,金额,结果,银行流水号,说明", (BankResultImport, _paid_lines()))


def _bank_results_page(client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> Upload:
    from subsidy_app.applications.models import BankResultImport

    batch_id, _number = exported_batch(client, uow, demo)
    csrf = login(client, "finance.city")
    post = _multipart(client, f"/finance/batches/{batch_id}/results", {}, csrf_token=csrf)
    return Upload(post, "序号,申请编号,金额,结果,银行流水号,说明", (BankResultImport, _paid_lines()), html=True)


ENDPOINTS = {"registry": _registry, "catalogue": _catalogue, "appliance_bulk": _appliance_bulk,
             "intake_imports": _intake, "bank_results": _bank_results, "bank_results_page": _bank_results_page}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_bad_file_is_a_422_naming_file_and_writes_nothing(client: FlaskClient, uow: UnitOfWork,
                                                            demo: dict[str, int], endpoint: str, kind: str) -> None:
    upload = ENDPOINTS[endpoint](client, uow, demo)
    make, name, reason = KINDS[kind]
    before = _counts(uow, upload.tables)
    response = upload.post(make(upload.header), name)
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    if upload.html:
        page = response.get_data(as_text=True)
        assert 'data-field="file"' in page
    else:
        body = response.get_json()
        assert body["reason"] == reason and list(body["errors"]) == ["file"], body
        message = body["errors"]["file"][0]
        assert re.search(r"[\u4e00-\u9fff]", message) and re.search(r" / [a-z]", message), message
    assert _counts(uow, upload.tables) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_baseline_file_is_refused_naming_file_and_loads_nothing(uow: UnitOfWork, demo: dict[str, int],
                                                                      kind: str) -> None:
    from recycling import targets
    from recycling.models import Baseline
    from subsidy_app.core.errors import ValidationFailed

    make, name, reason = KINDS[kind]
    with pytest.raises(ValidationFailed) as caught:
        targets.load_baselines(uow, actor="t", content=make("county_code,indicator,year,value"), source=name)
    assert caught.value.reason == reason and list(caught.value.errors) == ["file"]
    assert uow.session.scalar(select(func.count()).select_from(Baseline)) == 0
