"""Races at the till, on PostgreSQL with real threads and real commits."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.rules.models import QuotaCounter
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

