"""DOMAIN.md §2's appliance and digital tables, through the till's sale endpoint."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.appliances.demo import demo_gtin
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.audit import services as audit
from subsidy_app.core.idempotency import IdempotencyRecord
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.models import BudgetPool, QuotaHold
from tests.appliance_fixtures import (
    AC,
    FRIDGE,
    FRIDGE_G3,
    GLASSES,
    MICROWAVE,
    PHONE,
    TABLET,
    TV,
    WATCH,
    appliance_world,
    buyer_token,
    sale_body,
    sell,
)
from tests.helpers import bearer, statements_starting


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(client: FlaskClient, world) -> dict[str, str]:
    return bearer(client, "dealer.appliance")


@pytest.mark.parametrize(
    ("gtin", "price", "sold_on", "amount", "version"),
    [
        (AC, "3999.00", "2024-10-01", "799.80", "appliance-2024"),  # grade 1: 20%
        (TV, "3299.00", "2024-10-01", "494.85", "appliance-2024"),  # grade 2: 15%
        (AC, "12000.00", "2024-10-01", "2000.00", "appliance-2024"),  # cap 2,000
        (MICROWAVE, "999.00", "2025-03-01", "199.80", "appliance-2025"),  # one of the 4 added in 2025
        (TV, "3299.00", "2025-03-01", "494.85", "appliance-2025"),
        (AC, "15000.00", "2025-03-01", "2000.00", "appliance-2025"),
        (FRIDGE, "4599.00", "2026-03-01", "689.85", "appliance-2026"),  # grade 1 only, 15%
        (FRIDGE, "12000.00", "2026-03-01", "1500.00", "appliance-2026"),  # cap 1,500
        (PHONE, "2699.00", "2025-03-01", "404.85", "digital-2025"),  # 15%
        (PHONE, "6000.00", "2025-03-01", "500.00", "digital-2025"),  # at the ceiling, capped at 500
        (TABLET, "1999.00", "2026-03-01", "299.85", "digital-2026"),
        (WATCH, "1488.00", "2026-03-01", "223.20", "digital-2026"),
        (GLASSES, "2999.00", "2026-03-01", "449.85", "digital-2026"),  # smart glasses added in 2026
    ],
)
def test_the_till_gets_the_subsidy_of_the_version_in_force(client, uow, world, till, gtin, price, sold_on, amount,
                                                          version) -> None:
    status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 1), gtin, price,
                                                sold_on))
    assert status == 200, body
    assert body["eligible"] and body["amount"] == amount and body["version_code"] == version
    assert body["receipt_url"].startswith("http") and "/m/appliance/" in body["receipt_url"]


@pytest.mark.parametrize(
    ("gtin", "price", "sold_on", "reason"),
    [
        (PHONE, "6000.01", "2025-03-01", "rule.price.unit_ceiling"),  # digital: unit price ≤ 6,000
        (GLASSES, "2999.00", "2025-03-01", "rules.no_version"),  # smart glasses only from 2026
        (TV, "3299.00", "2026-03-01", "rule.energy_grade.allowed"),  # 2026: grade 1 only
        (FRIDGE_G3, "2999.00", "2025-03-01", "rule.energy_grade.allowed"),  # grade 3 never covered
        (MICROWAVE, "999.00", "2024-10-01", "rules.no_version"),  # not among 2024's 8 categories
        (PHONE, "2699.00", "2025-01-19", "rules.no_version"),  # digital 2025 starts 2025-01-20
        (demo_gtin(99), "999.00", "2025-03-01", "product.not_in_catalogue"),
    ],
)
def test_a_sale_outside_the_rules_gets_nothing_and_says_why(client, uow, world, till, gtin, price, sold_on,
                                                            reason) -> None:
    status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 2), gtin, price,
                                                sold_on))
    assert status == 200, body
    assert not body["eligible"] and body["amount"] == "0.00"
    assert reason in [r["code"] for r in body["reasons"]] and all(r["zh"] for r in body["reasons"])
    assert uow.session.scalar(select(ApplianceSale.id)) is None  # nothing held


def test_2025_air_conditioners_up_to_three_per_person(client, uow, world, till) -> None:
    token = buyer_token(uow, world.store_id, 3)
    answers = [sell(client, till, sale_body(world.store_id, token, AC, "3999.00", "2025-05-01")) for _ in range(4)]
    assert [s for s, _ in answers] == [200, 200, 200, 409]
    assert answers[3][1]["reason"] == "quota.exhausted"
    status, body = sell(client, till, sale_body(world.store_id, token, FRIDGE, "4599.00", "2025-05-01"))
    assert status == 200 and body["eligible"]  # other categories have their own limit


@pytest.mark.parametrize(("gtin", "sold_on"), [(AC, "2024-10-01"), (FRIDGE, "2026-03-01"), (PHONE, "2025-03-01")])
def test_one_per_category_elsewhere(client, uow, world, till, gtin, sold_on) -> None:
    token = buyer_token(uow, world.store_id, 4)
    first = sell(client, till, sale_body(world.store_id, token, gtin, "2000.00", sold_on))
    second = sell(client, till, sale_body(world.store_id, token, gtin, "2000.00", sold_on))
    assert first[0] == 200 and (second[0], second[1]["reason"]) == (409, "quota.exhausted")


def test_a_limit_resets_with_the_next_version(client, uow, world, till) -> None:
    token = buyer_token(uow, world.store_id, 5)
    assert sell(client, till, sale_body(world.store_id, token, PHONE, "2699.00", "2025-03-01"))[0] == 200
    assert sell(client, till, sale_body(world.store_id, token, PHONE, "2699.00", "2026-03-01"))[0] == 200


def test_a_serial_and_an_invoice_fund_one_subsidy(client, uow, world, till) -> None:
    first = sale_body(world.store_id, buyer_token(uow, world.store_id, 6), PHONE, "2699.00", "2025-03-01")
    assert sell(client, till, first)[0] == 200
    again = sale_body(world.store_id, buyer_token(uow, world.store_id, 7), PHONE, "2699.00", "2025-03-01",
                      serial=first["serial_number"])
    status, body = sell(client, till, again)
    assert (status, body["reason"]) == (409, "device.already_subsidised")
    same_invoice = sale_body(world.store_id, buyer_token(uow, world.store_id, 8), TV, "2699.00", "2025-03-01",
                             invoice=first["invoice_number"])
    status, body = sell(client, till, same_invoice)
    assert (status, body["reason"]) == (409, "invoice.already_subsidised")


def test_the_sale_holds_quota_and_budget_at_once(client, uow, world, till) -> None:
    status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 9), AC, "3999.00",
                                                "2025-05-01"))
    assert status == 200
    hold = uow.session.scalar(select(QuotaHold).where(QuotaHold.reference == body["number"]))
    pool = uow.session.get(BudgetPool, world.pools["appliance"])
    uow.session.refresh(pool)
    assert hold is not None and hold.state == "confirmed"
    assert pool.reserved == Decimal("799.80")


def test_a_bad_imei_is_refused_naming_the_field(client, uow, world, till) -> None:
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 10), PHONE, "2699.00", "2025-03-01",
                     serial="350000000000001")
    status, answer = sell(client, till, body)
    assert status == 422 and "serial_number" in answer["errors"]


def test_an_unapproved_or_suspended_store_cannot_sell(client, uow, world, till, demo) -> None:
    auditor = bearer(client, "auditor.lishi")
    response = client.post("/api/v1/appliance-participations", headers=auditor, json={
        "dealer_org_id": world.dealer_org, "store_id": world.store_id, "category": "phone", "status": "suspended"})
    assert response.status_code == 422  # a suspension needs a reason
    response = client.post("/api/v1/appliance-participations", headers=auditor, json={
        "dealer_org_id": world.dealer_org, "store_id": world.store_id, "category": "phone", "status": "suspended",
        "reason": "价格虚高待核查"})
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 11), PHONE,
                                                "2699.00", "2025-03-01"))
    assert (status, body["reason"]) == (409, "dealer.not_approved")
    events = audit.list_events(uow.session, entity_type="participation")
    suspended = [e for e in events if e.action == "participation.suspended"]
    assert suspended and suspended[0].summary["after"]["reason"] == "价格虚高待核查"
    assert suspended[0].summary["before"]["status"] == "approved"


def test_another_counties_auditor_cannot_approve(client, world) -> None:
    response = client.post("/api/v1/appliance-participations", headers=bearer(client, "auditor.xiaoyi"), json={
        "dealer_org_id": world.dealer_org, "category": "phone", "status": "approved"})
    assert response.status_code == 404


def test_a_confirmation_for_another_store_is_refused(client, uow, world, till) -> None:
    token = buyer_token(uow, world.store_id + 1000, 12)
    status, body = sell(client, till, sale_body(world.store_id, token, PHONE, "2699.00", "2025-03-01"))
    assert (status, body["reason"]) == (422, "buyer.wrong_store")


def test_an_instant_discount_needs_a_verified_buyer(client, world, till) -> None:
    body = sale_body(world.store_id, "", PHONE, "2699.00", "2025-03-01")
    body.pop("buyer_token")
    status, answer = sell(client, till, body)
    assert (status, answer["reason"]) == (422, "buyer.required")


def test_an_instant_discount_does_not_jump_approvals_waiting_for_the_pool(client, uow, demo) -> None:
    import datetime as dt

    from subsidy_app.rules import budget

    world = appliance_world(uow, demo, pool_amount="1000.00")
    queued = budget.reserve(uow, actor="t", pool_id=world.pools["digital"], reference="WAITING-1",
                            amount=Decimal("1500.00"), submitted_at=dt.datetime.now(dt.UTC))
    uow.commit()
    assert queued.state == "queued"
    till = bearer(client, "dealer.appliance")
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 41), PHONE, "2699.00", "2025-03-01")
    status, answer = sell(client, till, body)  # 404.85 would fit in the 1,000, but an approval waits first
    assert (status, answer["reason"]) == (409, "budget.exhausted")
    assert "资金" in answer["message"]
    uow.session.expire_all()
    assert uow.session.scalar(select(ApplianceSale.id)) is None and uow.session.scalar(select(QuotaHold.id)) is None
    assert uow.session.get(BudgetPool, world.pools["digital"]).reserved == Decimal("0.00")


def test_the_tills_answer_commits_with_the_sale(client, uow, world, till, engine) -> None:
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 40), PHONE, "2699.00", "2025-03-01")
    headers = {**till, "Idempotency-Key": "till-retry-1"}
    with statements_starting(engine, "UPDATE idempotency_record") as later_answers:
        first = client.post("/api/v1/appliance-sales", json=body, headers=headers)
    assert first.status_code == 200
    # The answer is inserted with the key in the sale's transaction, not saved by a later one: a retry after a
    # crash right after the commit finds it.
    assert later_answers == []
    record = uow.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "till-retry-1"))
    assert record is not None and record.status_code == 200
    assert json.loads(record.response_body) == first.get_json()
    again = client.post("/api/v1/appliance-sales", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert uow.session.scalar(select(func.count()).select_from(ApplianceSale)
                              .where(ApplianceSale.number == first.get_json()["number"])) == 1


def test_a_refused_sale_leaves_its_key_free_for_a_corrected_retry(client, uow, world, till) -> None:
    headers = {**till, "Idempotency-Key": "till-retry-2"}
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 41), PHONE, "2699.00", "2025-03-01")
    bad = client.post("/api/v1/appliance-sales", json={**body, "serial_number": "12345"}, headers=headers)
    assert bad.status_code == 422
    assert uow.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "till-retry-2")) is None
    assert client.post("/api/v1/appliance-sales", json=body, headers=headers).status_code == 200
