"""Spot-check conclusions racing on PostgreSQL with real connections: each false sale is deducted exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

from sqlalchemy import select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.audit import services as audit
from subsidy_app.oversight.spot_models import SpotItem, SpotPlan
from subsidy_app.seed import seed_demo
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body
from tests.helpers import bearer


def _sell(client, headers, world, uow, buyer: int, price: str, sold_on: str) -> dict:
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, buyer), AC, price, sold_on)
    response = client.post("/api/v1/appliance-sales", json=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["eligible"], response.get_json()
    return response.get_json()


def _statement(client, headers, world, start: str, end: str) -> dict:
    response = client.post("/api/v1/appliance-settlements", headers=headers, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": start, "period_end": end})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_twenty_concurrent_call_back_results_deduct_each_false_sale_once_on_the_next_statement(
        postgres, committed_app, committed_uow) -> None:
    demo = seed_demo(committed_uow)
    world = appliance_world(committed_uow, demo)
    client = committed_app.test_client()
    till, senior = bearer(client, "dealer.appliance"), bearer(client, "senior.city")
    auditor = bearer(client, "auditor.lishi")
    may = [_sell(client, till, world, committed_uow, 200 + n, "3999.00", "2025-05-10") for n in range(10)]
    may_statement = _statement(client, till, world, "2025-05-01", "2025-05-31")
    plan = client.post("/api/v1/oversight/spot-checks", headers=senior, json={
        "programme": "appliance", "period_start": "2025-05-01", "period_end": "2025-05-31", "rate_percent": "100"})
    assert plan.status_code == 201, plan.get_json()
    drawn = client.post(f"/api/v1/oversight/spot-checks/{plan.get_json()['id']}/draw", headers=senior, json={})
    assert drawn.get_json()["sampled"] == 10
    committed_uow.session.expire_all()
    items = list(committed_uow.session.scalars(select(SpotItem.id).order_by(SpotItem.id)))
    assert len(items) == 10

    outcomes: Counter[tuple[str, int, str | None]] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(20)

    def call_back_and_conclude(i: int) -> None:
        own = committed_app.test_client()
        item_id = items[i // 2]  # two officers on each item at once
        start.wait()
        result = own.post(f"/api/v1/oversight/spot-check-items/{item_id}/results", headers=auditor,
                          json={"task": "callback", "outcome": "denies_purchase"})
        conclusion = own.post(f"/api/v1/oversight/spot-check-items/{item_id}/conclusion", headers=senior,
                              json={"conclusion": "false", "reason": "购买人否认购买"})
        with lock:
            outcomes[("result", result.status_code, result.get_json().get("reason"))] += 1
            outcomes[("conclusion", conclusion.status_code, conclusion.get_json().get("reason"))] += 1

    threads = [threading.Thread(target=call_back_and_conclude, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes[("conclusion", 200, None)] == 10
    assert outcomes[("conclusion", 409, "spot.already_concluded")] == 10
    assert outcomes[("result", 200, None)] == 10  # the other of each pair found the task done or the item concluded
    assert sum(n for (what, status, _r), n in outcomes.items() if what == "result" and status == 409) == 10

    committed_uow.session.expire_all()
    revoked = list(committed_uow.session.scalars(select(ApplianceSale).where(ApplianceSale.state == "revoked")))
    assert sorted(s.number for s in revoked) == sorted(s["number"] for s in may)
    assert {s.statement_id for s in revoked} == {may_statement["application_id"]}
    june_sales = [_sell(client, till, world, committed_uow, 300 + n, "4500.00", "2025-06-10") for n in range(9)]
    june = _statement(client, till, world, "2025-06-01", "2025-06-30")
    assert (june["sales"], june["gross"], june["clawback"]) == (9, "8100.00", "7998.00")  # 10 × 799.80, once each
    lines = client.get(f"/api/v1/appliance-settlements/{june['application_id']}", headers=till).get_json()["lines"]
    deducted = [line["number"] for line in lines if line["kind"] == "clawback"]
    assert sorted(deducted) == sorted(s["number"] for s in may) and len(june_sales) == 9
    assert {line["clawback_reason"] for line in lines if line["kind"] == "clawback"} == {"spot_check"}
    _sell(client, till, world, committed_uow, 400, "3999.00", "2025-07-10")
    july = _statement(client, till, world, "2025-07-01", "2025-07-31")
    assert july["clawback"] == "0.00"  # a further statement carries none of them
    plan_row = committed_uow.session.get(SpotPlan, plan.get_json()["id"])
    assert plan_row is not None and plan_row.state == "closed"
    checked, broken = audit.verify_chain(committed_uow.session)
    assert broken is None and checked > 0
    assert Decimal(june["total"]) == Decimal("102.00")
