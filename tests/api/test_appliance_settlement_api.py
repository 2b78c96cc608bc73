"""Returns claw back from the dealer; statements go through review, the payment batch and reconciliation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from subsidy_app.applications import payments, review
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import Application
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.rules.models import BudgetPool, QuotaHold
from tests.appliance_fixtures import AC, FRIDGE, PHONE, appliance_world, buyer_token, sale_body, sell
from tests.helpers import bearer

PERIOD = {"programme": "appliance", "period_start": "2025-05-01", "period_end": "2025-05-31"}


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(client: FlaskClient, world) -> dict[str, str]:
    return bearer(client, "dealer.appliance")


def _principal(uow: UnitOfWork, demo: dict[str, int], name: str):
    principal = load_principal(uow, account_id=demo[name])
    assert principal is not None
    return principal


def _pool(uow: UnitOfWork, world) -> BudgetPool:
    pool = uow.session.get(BudgetPool, world.pools["appliance"])
    uow.session.refresh(pool)
    return pool


def test_a_return_before_settlement_releases_the_budget_but_keeps_the_quota_used(client, uow, world, till) -> None:
    token = buyer_token(uow, world.store_id, 31)
    status, body = sell(client, till, sale_body(world.store_id, token, FRIDGE, "4599.00", "2026-03-01"))
    assert status == 200 and _pool(uow, world).reserved == Decimal("689.85")
    response = client.post(f"/api/v1/appliance-sales/{body['sale_id']}/return", headers=till,
                           json={"reason": "顾客七天无理由退货"})
    assert response.status_code == 200 and response.get_json()["state"] == "returned"
    assert _pool(uow, world).reserved == Decimal("0.00")
    hold = uow.session.scalar(select(QuotaHold).where(QuotaHold.reference == body["number"]))
    assert hold is not None and hold.state == "refunded"
    again = sell(client, till, sale_body(world.store_id, token, FRIDGE, "4599.00", "2026-03-02"))
    assert (again[0], again[1]["reason"]) == (409, "quota.exhausted")  # DOMAIN.md §2: the quota stays used


def test_a_statement_is_reviewed_paid_in_a_batch_and_reconciled(client, uow, world, till, demo) -> None:
    sold = [sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 40 + i), AC, "3999.00",
                                         "2025-05-10"))[1] for i in range(3)]
    sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 50), PHONE, "2699.00",
                                 "2025-05-10"))  # digital: another programme, another statement
    response = client.post("/api/v1/appliance-settlements", headers=till,
                           json={"dealer_org_id": world.dealer_org, **PERIOD})
    assert response.status_code == 201, response.get_json()
    statement = response.get_json()
    assert (statement["sales"], statement["total"]) == (3, "2399.40")
    detail = client.get(f"/api/v1/appliance-settlements/{statement['application_id']}", headers=till).get_json()
    assert sorted(line["number"] for line in detail["lines"]) == sorted(s["number"] for s in sold)
    again = client.post("/api/v1/appliance-settlements", headers=till,
                        json={"dealer_org_id": world.dealer_org, **PERIOD})
    assert (again.status_code, again.get_json()["reason"]) == (409, "settlement.empty")  # each sale settles once
    app_id = statement["application_id"]
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=app_id,
                  action=Action.APPROVE)
    uow.commit()
    finance = _principal(uow, demo, "finance.city")
    batch = payments.create_batch(uow, principal=finance, application_ids=[app_id], declared_count=1,
                                  declared_total=Decimal("2399.40"))
    rows = payments.export_rows(uow, principal=finance, batch_id=batch.id)
    uow.commit()
    assert rows[1][2] == "离石区家电城有限公司" and rows[1][3] == "0505012345678901234"
    number = rows[1][1]
    result = f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},2399.40,成功,B1,\n".encode()
    payments.import_bank_result(uow, principal=finance, batch_id=batch.id, filename="r.csv", data=result)
    uow.commit()
    app = uow.session.get(Application, app_id)
    uow.session.refresh(app)
    pool = _pool(uow, world)
    assert app.state == "paid" and pool.spent == Decimal("2399.40") and pool.reserved == Decimal("0.00")


def test_a_return_after_settlement_is_clawed_back_from_the_next_statement(client, uow, world, till) -> None:
    first = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 60), AC, "3999.00",
                                         "2025-05-10"))[1]
    assert client.post("/api/v1/appliance-settlements", headers=till,
                       json={"dealer_org_id": world.dealer_org, **PERIOD}).status_code == 201
    client.post(f"/api/v1/appliance-sales/{first['sale_id']}/return", headers=till, json={"reason": "质量问题退货"})
    sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 61), AC, "5000.00", "2025-06-10"))
    response = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": "2025-06-01",
        "period_end": "2025-06-30"})
    body = response.get_json()
    assert response.status_code == 201, body
    assert (body["gross"], body["clawback"], body["total"]) == ("1000.00", "799.80", "200.20")


def test_statements_need_the_dealers_account_and_scope(client, uow, world, till) -> None:
    other = client.post("/api/v1/appliance-settlements", headers=bearer(client, "dealer.xiaoyi"),
                        json={"dealer_org_id": world.dealer_org, **PERIOD})
    assert other.status_code == 404


def test_a_statement_returned_for_correction_is_withdrawn_by_its_dealer_and_its_sales_settle_again(
        client, uow, world, till, demo) -> None:
    from tests.helpers import login

    for i in range(2):
        sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 70 + i), AC, "3999.00",
                                     "2025-05-10"))
    first = client.post("/api/v1/appliance-settlements", headers=till,
                        json={"dealer_org_id": world.dealer_org, **PERIOD}).get_json()
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=first["application_id"],
                  action=Action.RETURN, reason="请核对第二笔发票")
    uow.commit()
    page_path = f"/dealer/appliances/settlements/{first['application_id']}"
    csrf = login(client, "dealer.appliance")
    page = client.get(page_path).get_data(as_text=True)
    assert "请核对第二笔发票" in page and 'id="withdraw-statement"' in page  # the dealer sees why, and may withdraw
    # Another dealer's clerk cannot withdraw it.
    other = client.application.test_client()
    other_csrf = login(other, "dealer.xiaoyi")
    assert other.post(f"{page_path}/withdraw", data={"csrf_token": other_csrf}).status_code == 404
    done = client.post(f"{page_path}/withdraw", data={"csrf_token": csrf})
    assert done.status_code == 302
    assert uow.session.get(Application, first["application_id"], populate_existing=True).state == "withdrawn"
    again = client.post(f"{page_path}/withdraw", data={"csrf_token": csrf}, follow_redirects=True)
    assert "只有退回补正或待审核的结算单可以撤回" in again.get_data(as_text=True)
    # The withdrawn statement's sales go on the next statement, once.
    second = client.post("/api/v1/appliance-settlements", headers=till,
                         json={"dealer_org_id": world.dealer_org, **PERIOD})
    assert second.status_code == 201 and second.get_json()["sales"] == 2 == first["sales"]
