"""Uploaded files and one-time codes at rest: a pg_dump of the database holds no ID number, card or phone in clear.

Each test uploads through one path into the committed database, then dumps it with pg_dump and looks for the
file's personal data as text and as the hex pg_dump writes for bytea columns.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recycling import imports
from subsidy_app.appliances import bulk
from subsidy_app.core.clock import business_date
from subsidy_app.core.jobs import run_outbox_message
from subsidy_app.core.uow import NullDispatcher, UnitOfWork
from subsidy_app.documents import services as documents
from subsidy_app.documents.models import DocumentBlob
from subsidy_app.messaging import codes
from subsidy_app.messaging import services as messaging
from subsidy_app.messaging.models import SmsMessage
from subsidy_app.seed import seed_demo
from subsidy_app.vehicles.services import import_records
from tests.appliance_fixtures import PHONE, TABLET, appliance_world, imei
from tests.car_fixtures import REGISTRY_HEADER, bank_card, car_world, resident_id, submit, vin
from tests.doc_files import PDF_BYTES
from tests.dump_check import in_clear, pg_dump
from tests.helpers import bearer
from tests.recycling_support import ACTOR, build_network

BULK_HEADER = "商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"


def _buyers(start: int, count: int) -> list[tuple[str, str]]:
    return [(resident_id(f"14110219850101{start + i:03d}"), f"137{start + i:08d}") for i in range(count)]


def _bulk_file(buyers: list[tuple[str, str]], start: int) -> bytes:
    lines = [BULK_HEADER]
    for n, (id_number, phone) in enumerate(buyers, start=start):
        gtin, serial = (PHONE, imei(90_000 + n)) if n % 2 else (TABLET, f"TBR{n:07d}")
        lines.append(f"{gtin},{serial},2699.00,2514{900_000 + n:016d},2025-03-01,买家{n},{id_number},{phone}\n")
    return "".join(lines).encode("utf-8")


def test_appliance_bulk_files_small_and_queued_leave_no_buyer_data_in_clear(
        postgres: None, committed_app: Flask, committed_uow: UnitOfWork, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount="1000000.00")
    client = committed_app.test_client()
    headers = bearer(client, "dealer.appliance")
    small, large = _buyers(0, 4), _buyers(100, 6)
    wrong_check = small[3][0][:-1] + ("0" if small[3][0][-1] != "0" else "1")
    small[3] = (wrong_check, small[3][1])  # a refused row: its ID number must not come back in the report
    # With an Idempotency-Key the answer is stored too: it must hold the report only.
    answer = client.post("/api/v1/appliance-sales/bulk", headers={**headers, "Idempotency-Key": "bulk-at-rest-1"},
                         content_type="multipart/form-data",
                         data={"store_id": str(world.store_id), "file": (io.BytesIO(_bulk_file(small, 0)), "a.csv")})
    assert answer.status_code == 200 and answer.get_json()["report"]["error_count"] == 1, answer.get_json()["report"]
    monkeypatch.setattr(bulk, "SYNC_ROWS", 2)  # the second file runs as a job
    queued = client.post("/api/v1/appliance-sales/bulk", headers=headers, content_type="multipart/form-data",
                         data={"store_id": str(world.store_id), "file": (io.BytesIO(_bulk_file(large, 10)), "b.csv")})
    assert queued.get_json()["job_id"] is not None, queued.get_json()
    status = client.get(f"/api/v1/appliance-sales/bulk/{queued.get_json()['upload_id']}", headers=headers)
    assert status.get_json()["state"] == "done" and status.get_json()["report"]["accepted_count"] == 6
    assert in_clear(pg_dump(database_url), [v for pair in small + large for v in pair]) == []


def test_a_bank_result_file_is_sealed_and_a_card_in_its_note_masked(
        postgres: None, committed_app: Flask, committed_uow: UnitOfWork, database_url: str) -> None:
    demo = seed_demo(committed_uow)
    world = car_world(committed_uow, demo)
    app_id = submit(committed_uow, world).application_id
    client = committed_app.test_client()
    auditor, finance = bearer(client, "auditor.lishi"), bearer(client, "finance.city")
    number = client.get(f"/api/v1/applications/{app_id}", headers=auditor).get_json()["number"]
    assert client.post("/api/v1/applications/batch-approve", json={"application_ids": [app_id]},
                       headers=auditor).get_json()["approved"] == [app_id]
    batch = client.post("/api/v1/payment-batches", headers=finance, json={
        "application_ids": [app_id], "declared_count": 1, "declared_total": "18000.00"}).get_json()
    assert client.get(f"/api/v1/payment-batches/{batch['id']}/bank-file?format=csv", headers=finance).status_code == 200
    card, other_id = bank_card(777), resident_id("14110219800101777")
    result = (f"序号,申请编号,金额,结果,银行流水号,说明\n"
              f"1,{number},18000.00,失败,B1,户名与证件{other_id}不符 卡号{card}\n").encode()
    answer = client.post(f"/api/v1/payment-batches/{batch['id']}/results",
                         headers={**finance, "Idempotency-Key": "bank-at-rest-1"},
                         data={"file": (io.BytesIO(result), "result.csv")}, content_type="multipart/form-data")
    assert answer.status_code == 200 and answer.get_json()["failed"] == [number], answer.get_json()
    assert in_clear(pg_dump(database_url), [card, other_id]) == []


def test_a_registry_import_keeps_no_owner_id_in_clear(postgres: None, committed_uow: UnitOfWork,
                                                      database_url: str) -> None:
    owners = [resident_id(f"14118119700101{i:03d}") for i in range(3)]
    rows = [f"{vin(500 + i, 'LFV')},晋J5{i:04d},K33,A,1,2015-01-01,{owner},2015-01-01,,,\n"
            for i, owner in enumerate(owners)]
    rows.append(f"NOTAVIN,晋J59999,K33,A,1,2015-01-01,{owners[0][:-1]}0,2015-01-01,,,\n")  # a refused row
    report = import_records(committed_uow, actor="t", filename="registry.csv",
                            data=(REGISTRY_HEADER + "\n" + "".join(rows)).encode("utf-8"))
    committed_uow.commit()
    assert report.created == 3 and len(report.rejected) == 1
    assert in_clear(pg_dump(database_url), [*owners, owners[0][:-1] + "0"]) == []


INTAKE_HEADER = "site_code,source,category,units,weight_kg,occurred_on,note,身份证号,联系电话"


def test_a_queued_intake_file_is_sealed_and_gone_once_imported(
        postgres: None, committed_uow: UnitOfWork, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    org = build_network(committed_uow, seed_demo(committed_uow)).org_id
    committed_uow.commit()
    day = (business_date() - dt.timedelta(days=3)).isoformat()
    people = _buyers(300, 5)
    lines = [INTAKE_HEADER] + [f"T-drop_off,resident,appliance.refrigerator,1,52.5,{day},交售人{id_number},"
                               f"{id_number},{phone}" for id_number, phone in people]
    monkeypatch.setattr(imports, "INLINE_ROW_LIMIT", 2)
    with UnitOfWork(committed_uow.session_factory, NullDispatcher(), committed_uow.cipher) as uow:
        report = imports.import_intake_file(uow, actor=ACTOR, organisation_id=org, filename="big.csv",
                                            content=("\n".join(lines) + "\n").encode("utf-8"), mode="valid_only")
        uow.commit()
    assert report.status == "queued"
    secrets = [v for pair in people for v in pair]
    assert in_clear(pg_dump(database_url), secrets) == []  # while the job waits
    assert report.job_id is not None
    assert run_outbox_message(committed_uow.session_factory, NullDispatcher(), report.job_id,
                              committed_uow.cipher).status == "done"
    assert imports.get_import(committed_uow, import_id=report.import_id, principal=None).rows_written == 5
    assert in_clear(pg_dump(database_url), secrets) == []  # and after it ran


def test_a_document_scan_is_sealed_and_served_as_uploaded(postgres: None, committed_uow: UnitOfWork,
                                                          database_url: str) -> None:
    id_number = resident_id("14110219751231123")
    scan = PDF_BYTES.replace(b"trailer", f"% 姓名 张三 公民身份号码 {id_number}\ntrailer".encode())
    ref = documents.store_document(committed_uow, actor="t", kind="id_card", filename="id.pdf", data=scan,
                                   owner_ref="application:1")
    committed_uow.commit()
    assert in_clear(pg_dump(database_url), [id_number]) == []
    assert documents.load_document(committed_uow, document_id=ref.id).data == scan
    blob = committed_uow.session.get(DocumentBlob, ref.sha256)
    assert blob is not None and blob.size == len(scan)


@pytest.fixture
def restore_gateway() -> Iterator[None]:
    yield
    messaging.show_codes_in_local_outbox(True)  # what every other test's runtime sets (not production)


def test_in_production_an_otp_is_kept_only_as_hash_and_masked_in_every_outbox(
        postgres: None, committed: sessionmaker[Session], database_url: str, restore_gateway: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidy_app.runtime import build_runtime
    from tests.conftest import make_settings

    phone, code = "13698765432", "482916"
    monkeypatch.setattr(codes, "new_code", lambda policy=None: code)
    runtime = build_runtime(make_settings(database_url).with_overrides(env="production"),
                            session_factory=committed)
    with runtime.unit_of_work() as uow:
        codes.request_code(uow, phone=phone, purpose="resident_login")
        uow.commit()
    with runtime.unit_of_work() as uow:
        sent = uow.session.scalars(select(SmsMessage)).all()
        assert [m.phone_masked for m in sent] == ["136****5432"] and code not in sent[0].text
        assert "******" in sent[0].text
    assert in_clear(pg_dump(database_url), [phone, f"验证码为{code}"]) == []
    with runtime.unit_of_work() as uow:
        assert codes.verify_code(uow, phone=phone, purpose="resident_login", code=code)


def test_in_development_the_local_outbox_shows_the_code_but_the_job_payload_does_not(
        postgres: None, committed: sessionmaker[Session], database_url: str, restore_gateway: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidy_app.core.outbox import OutboxMessage
    from subsidy_app.runtime import build_runtime
    from tests.conftest import make_settings

    code = "318275"
    monkeypatch.setattr(codes, "new_code", lambda policy=None: code)
    runtime = build_runtime(make_settings(database_url).with_overrides(env="development"),
                            session_factory=committed)
    with runtime.unit_of_work() as uow:
        codes.request_code(uow, phone="13698765433", purpose="verify_identity")
        uow.commit()
    with runtime.unit_of_work() as uow:
        assert code in messaging.list_outbox(uow, limit=1)[0].text
        payload = uow.session.scalars(select(OutboxMessage.payload)).one()
        assert code not in str(payload)


# Binary columns that are neither personal fields (`*_enc`) nor sealed uploads, and why.
NOT_UPLOADS = {"recovery_report.content": "a generated workbook of county totals: no personal data"}


def test_every_binary_column_is_an_encrypted_field_or_a_sealed_upload() -> None:
    # The pattern, not only today's tables: a new table keeping file bytes must declare them as a stored upload.
    from sqlalchemy import LargeBinary

    from subsidy_app.core.uploads import stored_uploads
    from subsidy_app.metadata import target_metadata

    binary = {f"{t.name}.{c.name}" for t in target_metadata.sorted_tables for c in t.columns
              if isinstance(c.type, LargeBinary) and not c.name.endswith("_enc")}
    declared = {s.name for s in stored_uploads()}
    assert binary - declared - set(NOT_UPLOADS) == set()
    assert {"appliance_bulk_upload.content", "bank_result_import.content", "intake_import.content",
            "document_blob.data"} <= declared
