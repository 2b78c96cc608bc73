"""Build an appliance world through the services: rules, pools, an approved store, a catalogue, buyers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient

from subsidy_app.appliances import buyer as buyers
from subsidy_app.appliances.demo import demo_gtin, prepare_store
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.rules import budget, budget_reports
from tests.car_fixtures import publish_rules, resident_id
from tests.conftest import TEST_SECRET_KEY

# Products of the demo catalogue (subsidy_app.appliances.demo.DEMO_PRODUCTS) plus a few for the rule tables.
AC, FRIDGE, TV, WASHER, PHONE, PHONE_PRO, TABLET, WATCH = (demo_gtin(i) for i in range(1, 9))
MICROWAVE, GLASSES, FRIDGE_G3 = demo_gtin(20), demo_gtin(21), demo_gtin(22)
_serials = itertools.count(1)


@dataclass
class ApplianceWorld:
    """Ids of what a sale needs."""

    dealer_org: int
    store_id: int
    pools: dict[str, int]


def appliance_world(uow: UnitOfWork, demo: dict[str, int], *, pool_amount: str = "1000000.00") -> ApplianceWorld:
    """Publish rules, fund the Lishi appliance and digital pools, open and approve the demo dealer's store."""
    from subsidy_app.appliances import catalogue

    publish_rules(uow)
    pools = {}
    for programme in ("appliance", "digital"):
        found = budget_reports.list_pool_ids(uow, counties=frozenset({"141102"}), programme=programme)
        pools[programme] = found[0] if found else budget.create_pool(uow, actor="t", programme=programme,
                                                                     county_code="141102", name="t")
        if not found:
            budget.allocate(uow, actor="t", pool_id=pools[programme], amount=Decimal(pool_amount), source="central")
    dealer = demo["org:dealer:appliance"]
    store_id = prepare_store(uow, dealer_org_id=dealer)
    for gtin, category, grade in ((MICROWAVE, "microwave", 1), (GLASSES, "smart_glasses", None),
                                  (FRIDGE_G3, "refrigerator", 3)):
        catalogue.upsert_product(uow, actor="t", gtin=gtin, category=category, brand="测试", model=gtin,
                                 energy_grade=grade, water_grade=None, reference_price=Decimal("1000.00"))
    uow.commit()
    return ApplianceWorld(dealer, store_id, pools)


def buyer_token(uow: UnitOfWork, store_id: int, serial: int) -> str:
    """Register a resident and return the confirmation their phone would show at the store."""
    id_number = resident_id(f"14110219900101{serial:03d}")
    phone = f"139{serial:08d}"
    person_id = persons.register_person(uow, actor="t", name=f"买家{serial}", id_number=id_number, phone=phone)
    uow.commit()
    return buyers.confirmation_token(TEST_SECRET_KEY, person_id=person_id, store_id=store_id,
                                     phone_hash=uow.cipher.match_hash(phone))


def imei(serial: int) -> str:
    """Build a Luhn-valid 15-digit IMEI."""
    body = f"35{serial:012d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def sale_body(store_id: int, token: str, gtin: str, price: str, sold_on: str, *, serial: str | None = None,
              invoice: str | None = None, **extra: Any) -> dict[str, Any]:
    """A till's request body with fresh serial and invoice numbers unless given."""
    n = next(_serials)
    is_phone = gtin in (PHONE, PHONE_PRO)
    return {"store_id": store_id, "gtin": gtin, "price": price, "sold_on": sold_on, "buyer_token": token,
            "serial_number": serial or (imei(n) if is_phone else f"SN{n:08d}"),
            "invoice_number": invoice or f"2614{n:016d}", **extra}


def sell(client: FlaskClient, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Post a sale; return the status and the JSON answer."""
    response = client.post("/api/v1/appliance-sales", json=body, headers=headers)
    return response.status_code, response.get_json()
