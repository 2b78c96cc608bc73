"""A bulk row refused for quota or budget leaves its buyer unregistered, as the till's rolled-back sale does."""

from __future__ import annotations

from sqlalchemy import func, select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Person
from subsidy_app.rules.models import QuotaCounter
from tests.api.test_appliance_bulk_api import HEADER, _upload
from tests.appliance_fixtures import PHONE, TABLET, appliance_world, buyer_token, imei, sale_body, sell
from tests.car_fixtures import resident_id
from tests.helpers import bearer

NEW_A, NEW_B = resident_id("14110219700303001"), resident_id("14110219700303002")
KNOWN = resident_id(f"14110219900101{901:03d}")  # buyer_token(…, 901) registers her


def _person(uow: UnitOfWork, id_number: str) -> Person | None:
    return uow.session.scalar(select(Person).where(Person.id_number_hash == uow.cipher.match_hash(id_number)))


def test_rows_refused_for_quota_or_budget_leave_no_buyer_and_the_accepted_rows_buyers_exist(client, uow,
                                                                                            demo) -> None:
    # 1,000 yuan per pool: two 2,699-yuan tablets or phones (404.85 yuan each), then the digital pool is short.
    world = appliance_world(uow, demo, pool_amount="1000.00")
    headers = bearer(client, "dealer.appliance")
    # A known buyer who used her tablet quota at a till already.
    status, sold = sell(client, headers, sale_body(world.store_id, buyer_token(uow, world.store_id, 901), TABLET,
                                                   "2699.00", "2025-03-01"))
    assert status == 200 and sold["eligible"], sold
    known = _person(uow, KNOWN)
    assert known is not None
    known_phone, persons_before = known.phone_masked, uow.session.scalar(select(func.count()).select_from(Person))
    audits_before = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(("person.registered", "person.phone_changed"))))
    rows = [(PHONE, imei(91_001), "张三", NEW_A, "13911110001"),     # 2: accepted, the pool's second item
            (TABLET, "TB91000002", "买家901", KNOWN, "13722220002"),  # 3: her tablet quota is used: quota
            (TABLET, "TB91000003", "李四", NEW_B, "13933330003"),    # 4: new buyer, the pool is short: budget
            (PHONE, imei(91_004), "李四", NEW_B, "13933330003")]     # 5: the same new buyer again: budget
    data = HEADER + "".join(f"{gtin},{serial},2699.00,2514{90_000 + i:016d},2025-03-01,{name},{id_number},{phone}\n"
                            for i, (gtin, serial, name, id_number, phone) in enumerate(rows))
    report = _upload(client, headers, world.store_id, data.encode("utf-8"), "refusals.csv").get_json()["report"]
    assert {e["line"]: e["reason"] for e in report["errors"]} == {
        3: "quota.exhausted", 4: "budget.exhausted", 5: "budget.exhausted"}
    assert [a["line"] for a in report["accepted"]] == [2]
    uow.session.expire_all()
    accepted = _person(uow, NEW_A)
    assert accepted is not None and accepted.phone_masked == "139****0001"
    assert uow.session.scalar(select(ApplianceSale.person_id).where(
        ApplianceSale.number == report["accepted"][0]["number"])) == accepted.id
    assert _person(uow, NEW_B) is None  # refused for budget: not registered as a buyer
    assert uow.session.scalar(select(func.count()).select_from(Person)) == persons_before + 1
    assert uow.session.scalar(select(func.count()).select_from(QuotaCounter).where(
        QuotaCounter.used == 0)) == 0  # no empty counter left behind for anyone
    known = _person(uow, KNOWN)
    assert known is not None and known.phone_masked == known_phone  # her refused row changed nothing
    audits = list(uow.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(("person.registered", "person.phone_changed"))).order_by(AuditEvent.id)))[audits_before:]
    assert [(a.action, a.entity_id) for a in audits] == [("person.registered", str(accepted.id))]
    assert audits[0].summary == {"after": {"bulk_count": 1}}  # one buyer registered, not two
