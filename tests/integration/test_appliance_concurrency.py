"""Races at the till, on PostgreSQL with real threads and real commits."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.audit.models import AuditEvent
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation, QuotaCounter, QuotaHold
from subsidy_app.seed import seed_demo
from tests.appliance_fixtures import AC, PHONE, appliance_world, buyer_token, imei, sale_body
from tests.helpers import bearer


def _race(app, headers, bodies):
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(bodies))

    def till(body):
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/appliance-sales", json=body, headers=headers)
        with lock:
            results.append((response.status_code, response.get_json().get("reason")))

    threads = [threading.Thread(target=till, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(results)


def test_one_imei_at_100_tills_funds_exactly_one_subsidy(postgres, committed_app, committed_uow) -> None:
    demo = seed_demo(committed_uow)
    world = appliance_world(committed_uow, demo)
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    device = imei(777)
    bodies = [sale_body(world.store_id, buyer_token(committed_uow, world.store_id, 100 + i), PHONE, "2699.00",
                        "2025-03-01", serial=device) for i in range(100)]
    outcome = _race(committed_app, headers, bodies)
    assert outcome == Counter({(200, None): 1, (409, "device.already_subsidised"): 99})
    committed_uow.session.expire_all()
    assert committed_uow.session.scalar(select(func.count()).select_from(ApplianceSale)
                                        .where(ApplianceSale.serial_key == device)) == 1


def test_one_buyers_concurrent_sales_never_exceed_the_category_limit(postgres, committed_app, committed_uow) -> None:
    demo = seed_demo(committed_uow)
    world = appliance_world(committed_uow, demo)
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    token = buyer_token(committed_uow, world.store_id, 900)
    bodies = [sale_body(world.store_id, token, AC, "3999.00", "2025-05-01") for _ in range(12)]
    outcome = _race(committed_app, headers, bodies)
    assert outcome == Counter({(200, None): 3, (409, "quota.exhausted"): 9})  # 2025: air conditioners up to 3
    committed_uow.session.expire_all()
    used = committed_uow.session.scalar(select(QuotaCounter.used).where(QuotaCounter.category == "air_conditioner"))
    assert used == 3



def test_concurrent_instant_discounts_never_overcommit_the_pool(postgres, committed_app, committed_uow) -> None:
    # 2,200 yuan funds five 404.85 phone discounts (2,024.25), not six: 20 tills race for them.
    demo = seed_demo(committed_uow)
    world = appliance_world(committed_uow, demo, pool_amount="2200.00")
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    bodies = [sale_body(world.store_id, buyer_token(committed_uow, world.store_id, 300 + i), PHONE, "2699.00",
                        "2025-03-01", serial=imei(3000 + i)) for i in range(20)]
    outcome = _race(committed_app, headers, bodies)
    assert outcome == Counter({(200, None): 5, (409, "budget.exhausted"): 15})
    session = committed_uow.session
    session.expire_all()
    pool = session.get(BudgetPool, world.pools["digital"])
    assert (pool.reserved, pool.allocated) == (Decimal("2024.25"), Decimal("2200.00"))
    # A refused sale leaves nothing behind: no sale, quota unit, reservation or ledger line.
    assert session.scalar(select(func.count()).select_from(ApplianceSale)) == 5
    assert session.scalar(select(func.count()).select_from(QuotaHold)) == 5
    reserved = session.scalars(select(BudgetReservation.amount).where(
        BudgetReservation.pool_id == pool.id, BudgetReservation.state == "reserved")).all()
    assert sum(reserved) == pool.reserved and len(reserved) == 5
    assert session.scalar(select(func.count()).select_from(BudgetEntry).where(
        BudgetEntry.pool_id == pool.id, BudgetEntry.kind == "reserve")) == 5
    # 92 % in use: the county was told of the 80 % threshold once, and not yet of 95 %.
    actions = Counter(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("budget.%"))))
    assert actions["budget.reserved"] == 5 and actions["budget.threshold_80"] == 1
    assert actions["budget.threshold_95"] == 0 and pool.notified_level == 80
