"""A bulk file racing with tills for the same buyer and pool, on PostgreSQL with real threads and real commits."""

from __future__ import annotations

import io
import threading
from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.identity.models import Person
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation, QuotaCounter, QuotaHold
from subsidy_app.seed import seed_demo
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body
from tests.car_fixtures import resident_id
from tests.helpers import bearer

HEADER = "商品条码,序列号/IMEI,成交价,发票号码,销售日期,购买人姓名,购买人身份证号,购买人手机号\n"
SOLD_ON = "2025-05-01"  # 2025: air conditioners up to 3 per person


def _bulk_file(shared_id_number: str) -> bytes:
    """Six air conditioners for the shared buyer, then ten for buyers of their own."""
    rows = [(f"SNB{i:07d}", "买家900", shared_id_number, "13900000900") for i in range(6)]
    rows += [(f"SNB{i:07d}", f"买家{i}", resident_id(f"14110219800101{i:03d}"), f"137{i:08d}") for i in range(6, 16)]
    body = "".join(f"{AC},{serial},3999.00,2515{i:016d},{SOLD_ON},{name},{id_number},{phone}\n"
                   for i, (serial, name, id_number, phone) in enumerate(rows))
    return (HEADER + body).encode("utf-8")


def test_a_bulk_file_racing_tills_never_exceeds_the_buyers_quota_nor_the_pool(postgres, committed_app,
                                                                             committed_uow) -> None:
    # 5,000 yuan funds only some of the 28 air conditioners; the shared buyer may have 3 of their 12.
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount="5000.00")
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    shared = buyer_token(committed_uow, world.store_id, 900)
    others = [buyer_token(committed_uow, world.store_id, 300 + i) for i in range(6)]
    bodies = [sale_body(world.store_id, shared, AC, "3999.00", SOLD_ON) for _ in range(6)]
    bodies += [sale_body(world.store_id, token, AC, "3999.00", SOLD_ON) for token in others]
    data = _bulk_file(resident_id("14110219900101900"))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(bodies) + 1)

    def till(body) -> None:
        client = committed_app.test_client()
        start.wait()
        response = client.post("/api/v1/appliance-sales", json=body, headers=headers)
        with lock:
            outcomes[f"till {response.status_code} {response.get_json().get('reason')}"] += 1

    def bulk() -> None:
        client = committed_app.test_client()
        start.wait()
        response = client.post("/api/v1/appliance-sales/bulk", headers=headers, content_type="multipart/form-data",
                               data={"store_id": str(world.store_id), "file": (io.BytesIO(data), "day.csv")})
        report = response.get_json()["report"]
        with lock:
            outcomes["bulk accepted"] += report["accepted_count"]
            outcomes.update(f"bulk {e['reason']}" for e in report["errors"])

    threads = [threading.Thread(target=till, args=(b,)) for b in bodies] + [threading.Thread(target=bulk)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    session = committed_uow.session
    session.expire_all()
    sales = list(session.scalars(select(ApplianceSale)))
    assert outcomes["till 200 None"] + outcomes["bulk accepted"] == len(sales) > 0, outcomes
    # Every refusal is for the quota or the budget, and both limits were reached.
    assert set(outcomes) <= {"till 200 None", "till 409 quota.exhausted", "till 409 budget.exhausted",
                             "bulk accepted", "bulk quota.exhausted", "bulk budget.exhausted"}, outcomes
    assert outcomes["till 409 budget.exhausted"] + outcomes["bulk budget.exhausted"] > 0, outcomes
    # Quota: the shared buyer has at most 3 air conditioners, and the counter says exactly how many.
    shared_id = session.scalar(select(Person.id).where(
        Person.id_number_hash == committed_uow.cipher.match_hash(resident_id("14110219900101900"))))
    mine = [s for s in sales if s.person_id == shared_id]
    assert len(mine) <= 3
    counters = {c.person_id: c.used for c in session.scalars(select(QuotaCounter).where(
        QuotaCounter.category == "air_conditioner"))}
    assert all(used <= 3 for used in counters.values())
    assert counters.get(shared_id, 0) == len(mine)
    assert sorted(session.scalars(select(QuotaHold.reference))) == sorted(s.number for s in sales)
    # Pool: never over-committed; its sum, its reservations and its ledger agree, one reservation per sale.
    pool = session.get(BudgetPool, world.pools["appliance"])
    assert pool.reserved + pool.spent <= pool.allocated == Decimal("5000.00")
    reservations = list(session.scalars(select(BudgetReservation).where(BudgetReservation.pool_id == pool.id)))
    assert sorted(r.reference for r in reservations) == sorted(s.number for s in sales)
    assert sum(r.amount for r in reservations) == pool.reserved == sum(s.amount for s in sales)
    assert session.scalar(select(func.sum(BudgetEntry.amount)).where(
        BudgetEntry.pool_id == pool.id, BudgetEntry.kind == "reserve")) == pool.reserved
    # Issue 16 §4: a buyer of the file refused for the quota or the budget is not left registered; each of the
    # file's own buyers is a person exactly when they have a sale, and no empty quota counter is left for anyone.
    buyers = [session.scalar(select(Person.id).where(Person.id_number_hash == committed_uow.cipher.match_hash(
        resident_id(f"14110219800101{i:03d}")))) for i in range(6, 16)]
    sold_to = {s.person_id for s in sales}
    assert [b is not None for b in buyers] == [b in sold_to for b in buyers], (buyers, outcomes)
    assert None in buyers or outcomes["bulk budget.exhausted"] == 0  # the pool ran out before some of them
    assert session.scalar(select(func.count()).select_from(QuotaCounter).where(
        QuotaCounter.person_id.not_in(sold_to), QuotaCounter.used == 0)) == 0
