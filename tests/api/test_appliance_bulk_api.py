"""Bulk sales files: every row evaluated, bad rows reported by line and field, re-uploads recognised."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.appliances.demo import demo_gtin
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import Role
from subsidy_app.seed import DEMO_PASSWORD, seed_demo
from tests.appliance_fixtures import FRIDGE_G3, PHONE, TABLET, appliance_world, imei
from tests.car_fixtures import resident_id
from tests.helpers import bearer, statements_starting

BUYERS = 15
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
    # A colleague at the same dealer follows the upload's progress too; another dealer's clerk cannot see it.
    identity.create_account(committed_uow, actor="t", organisation_id=world.dealer_org, username="dealer.colleague",
                            display_name="同店同事", password=DEMO_PASSWORD, roles=[Role.DEALER_CLERK])
    committed_uow.commit()
    seen = client.get(body["status_url"], headers=bearer(client, "dealer.colleague"))
    assert seen.status_code == 200 and seen.get_json()["state"] == "done"
    assert client.get(body["status_url"], headers=bearer(client, "dealer.xiaoyi")).status_code == 404
    report = client.get(f"/api/v1/appliance-sales/bulk/{body['upload_id']}", headers=headers).get_json()["report"]
    assert {e["line"]: (e["field"], e["reason"]) for e in report["errors"]} == expected
    assert report["accepted_count"] == 9_990


def _file(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    """A file of (gtin, serial, invoice, buyer name, buyer ID number) rows sold on 2025-03-01 at 2,699 yuan."""
    body = "".join(f"{gtin},{serial},2699.00,{invoice},2025-03-01,{name},{id_number},13900000001\n"
                   for gtin, serial, invoice, name, id_number in rows)
    return (HEADER + body).encode("utf-8")


def test_bulk_rows_hold_quota_and_budget_exactly_and_refuse_like_the_till(client, uow, world) -> None:
    from decimal import Decimal

    from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation, QuotaCounter, QuotaHold

    headers = bearer(client, "dealer.appliance")
    pool = uow.session.get(BudgetPool, world.pools["digital"])
    reserved_before = pool.reserved
    first, second = resident_id("14110219700101001"), resident_id("14110219700101002")
    data = _file([(TABLET, "TB70000001", f"2514{7:016d}", "张三", first),
                  (TABLET, "TB70000002", f"2514{8:016d}", "张三", first),       # same buyer, same category
                  (PHONE, imei(70_003), f"2514{9:016d}", "李四", first),         # another name for that ID
                  (PHONE, imei(70_004), f"2514{10:016d}", "王五", second)])
    report = _upload(client, headers, world.store_id, data).get_json()["report"]
    assert {e["line"]: (e["field"], e["reason"]) for e in report["errors"]} == {
        3: ("buyer_id_number", "quota.exhausted"), 4: ("buyer_name", "person.name_mismatch")}
    numbers = [a["number"] for a in report["accepted"]]
    amounts = sum(Decimal(a["amount"]) for a in report["accepted"])
    assert [a["line"] for a in report["accepted"]] == [2, 5] and amounts > 0
    uow.session.expire_all()
    assert uow.session.get(BudgetPool, world.pools["digital"]).reserved == reserved_before + amounts
    reservations = uow.session.scalars(select(BudgetReservation).where(BudgetReservation.reference.in_(numbers)))
    assert sorted((r.reference, r.state) for r in reservations) == sorted((n, "reserved") for n in numbers)
    entries = uow.session.scalars(select(BudgetEntry).where(BudgetEntry.reference.in_(numbers)))
    assert sum(e.amount for e in entries if e.kind == "reserve") == amounts
    holds = uow.session.scalars(select(QuotaHold).where(QuotaHold.reference.in_(numbers)))
    assert sorted(h.state for h in holds) == ["confirmed", "confirmed"]
    assert sorted(uow.session.scalars(select(QuotaCounter.used).where(QuotaCounter.category.in_(
        ("tablet", "phone"))))) == [1, 1]
    # A bulk sale returns like a till sale: its reservation goes back to the pool.
    sale_id = uow.session.scalar(select(ApplianceSale.id).where(ApplianceSale.number == numbers[0]))
    returned = client.post(f"/api/v1/appliance-sales/{sale_id}/return", json={"reason": "退货"}, headers=headers)
    assert returned.status_code == 200, returned.get_json()
    uow.session.expire_all()
    assert uow.session.get(BudgetPool, world.pools["digital"]).reserved == \
        reserved_before + amounts - Decimal(report["accepted"][0]["amount"])


def test_a_row_for_an_item_a_till_sold_is_refused_and_an_empty_pool_refuses_the_rest(client, uow, demo) -> None:
    from tests.appliance_fixtures import buyer_token, sale_body, sell

    world = appliance_world(uow, demo, pool_amount="500.00")
    headers = bearer(client, "dealer.appliance")
    status, sold = sell(client, headers, sale_body(world.store_id, buyer_token(uow, world.store_id, 900), TABLET,
                                                   "2699.00", "2025-03-01", serial="TB80000001"))
    assert status == 200 and sold["eligible"], sold
    data = _file([(TABLET, "TB80000001", f"2514{11:016d}", "赵六", resident_id("14110219700202001")),
                  (PHONE, imei(80_002), f"2514{12:016d}", "赵六", resident_id("14110219700202001"))])
    report = _upload(client, headers, world.store_id, data).get_json()["report"]
    assert {e["line"]: (e["field"], e["reason"]) for e in report["errors"]} == {
        2: ("serial_number", "device.already_subsidised"), 3: ("row", "budget.exhausted")}
    assert report["accepted_count"] == 0
    assert uow.session.scalar(select(func.count()).select_from(ApplianceSale)) == 1


def test_a_chunk_reads_and_writes_its_buyers_in_two_statements_not_one_each(client, uow, world, engine) -> None:
    from subsidy_app.audit.models import AuditEvent
    from subsidy_app.identity.models import Person

    # Fewer rows than core.db.COPY_FROM_ROWS: a larger chunk registers its buyers by COPY, which the engine's
    # statement events do not see.
    headers = bearer(client, "dealer.appliance")
    ids = [resident_id(f"14110219710101{i:03d}") for i in range(BUYERS)]

    def person_statements(name: str, gtin: str, serials: list[str], invoice: str, phone: str) -> list[str]:
        rows = [f"{gtin},{serials[i]},2699.00,{invoice}{i:04d},2025-03-01,买家{i},{ids[i]},{phone}{i:04d}\n"
                for i in range(BUYERS)]
        with statements_starting(engine, "") as seen:
            report = _upload(client, headers, world.store_id, (HEADER + "".join(rows)).encode("utf-8"),
                             name).get_json()["report"]
        assert report["accepted_count"] == BUYERS, report["errors"]
        return [s.split()[0] for s in seen if re.search(r"\b(FROM|INTO|UPDATE) person\b", s)]

    # New buyers: looked up together, registered together.
    assert person_statements("new.csv", TABLET, [f"TBP{i:07d}" for i in range(BUYERS)], "25141" + "0" * 11,
                             "1390000") == ["SELECT", "INSERT"]
    # The same buyers with new phones: looked up together, their phones changed together, each change audited.
    assert person_statements("known.csv", PHONE, [imei(60_000 + i) for i in range(BUYERS)], "25142" + "0" * 11,
                             "1370000") == ["SELECT", "UPDATE"]
    uow.session.expire_all()
    phones = uow.session.scalars(select(Person.phone_masked).where(Person.id_number_hash.in_(
        [uow.cipher.match_hash(i) for i in ids])))
    assert sorted(phones) == sorted(f"137****{i:04d}" for i in range(BUYERS))
    assert uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "person.phone_changed")) == BUYERS


def test_bulk_rows_get_the_tills_fraud_signals_counting_earlier_rows_of_the_file(client, uow, world) -> None:
    # Four buyers give one phone number; with the default limit of 3 sales per phone, the fourth is flagged.
    headers = bearer(client, "dealer.appliance")
    rows = [f"{TABLET},TBF{i:07d},2699.00,2515{i:016d},2025-03-01,买家{i},"
            f"{resident_id(f'14110219700101{i:03d}')},13900001111\n" for i in range(4)]
    response = _upload(client, headers, world.store_id, (HEADER + "".join(rows)).encode("utf-8"), "phones.csv")
    assert response.status_code in (200, 201), response.get_json()
    assert response.get_json()["report"]["error_count"] == 0
    sales = list(uow.session.scalars(select(ApplianceSale).where(ApplianceSale.serial_key.like("TBF%"))
                                     .order_by(ApplianceSale.serial_key)))
    codes = [{s["code"] for s in sale.signals} for sale in sales]
    assert len(codes) == 4
    assert ["fraud.phone" in c for c in codes] == [False, False, False, True]
    flagged = next(s for s in sales[3].signals if s["code"] == "fraud.phone")
    assert flagged["evidence"]["count"] in (4, "4")


@pytest.mark.parametrize("rows", [100, 2_500], ids=["processed at once", "large enough for a job"])
def test_a_file_with_a_wrong_header_is_refused_at_once_naming_the_missing_columns(client, uow, world,
                                                                                  rows: int) -> None:
    from subsidy_app.appliances.models import BulkUpload
    from subsidy_app.core.outbox import OutboxMessage

    headers = bearer(client, "dealer.appliance")
    data, _expected = sales_file(rows)
    wrong = data.replace("购买人身份证号,购买人手机号".encode(), "身份证,电话".encode(), 1)
    queued_before = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    response = _upload(client, headers, world.store_id, wrong)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["reason"] == "file.header"
    assert "buyer_id_number" in body["errors"]["file"][0] and "buyer_phone" in body["errors"]["file"][0]
    assert uow.session.scalar(select(func.count()).select_from(BulkUpload)) == 0
    assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == queued_before


def test_a_file_past_the_upload_limit_is_refused_before_it_is_read(client, uow, world) -> None:
    from subsidy_app.appliances.models import BulkUpload

    headers = bearer(client, "dealer.appliance")
    limit = client.application.extensions["subsidy"].settings.upload_max_bytes
    line = f"{TABLET},TB00000001,2699.00,{2514:020d},2025-03-01,买家,{resident_id('14110219700101001')},13900000001\n"
    big = (HEADER + line * (limit // len(line.encode()) + 1)).encode("utf-8")  # 19 MB at the default limit
    response = _upload(client, headers, world.store_id, big)
    assert response.status_code == 413
    assert response.get_json()["reason"] == "body.too_large"
    assert uow.session.scalar(select(func.count()).select_from(BulkUpload)) == 0
