"""Demo data: a store of the demo appliance dealer, its approvals, a small catalogue and a settlement account."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from subsidy_app.appliances import catalogue, participation
from subsidy_app.appliances.domain import APPLIANCE_CATEGORIES, DIGITAL_CATEGORIES
from subsidy_app.appliances.models import ApplianceSale, Store
from subsidy_app.core.identifiers_trade import gtin13_check_digit
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.demo_residents import DEMO_BUYER
from subsidy_app.identity.domain import Principal, Role
from subsidy_app.identity.organisations import organisation_named
from subsidy_app.runtime import Runtime
from subsidy_app.seed import DEMO_ORGS, SEED_ACTOR, demo_note, demo_step

SEED_PRINCIPAL = Principal(kind="staff", account_id=0, username=SEED_ACTOR, roles=frozenset({Role.ADMIN}),
                           all_counties=True)
# (category, brand, model, energy grade, reference price)
DEMO_PRODUCTS = [
    ("air_conditioner", "格力", "KFR-35GW 一级能效", 1, Decimal("3999.00")),
    ("refrigerator", "海尔", "BCD-470 一级能效", 1, Decimal("4599.00")),
    ("television", "海信", "65E5N", 2, Decimal("3299.00")),
    ("washing_machine", "小天鹅", "TG100 一级能效", 1, Decimal("2599.00")),
    ("phone", "华为", "nova 13", None, Decimal("2699.00")),
    ("phone", "苹果", "iPhone 16 Pro Max 1TB", None, Decimal("12999.00")),
    ("tablet", "小米", "Pad 7", None, Decimal("1999.00")),
    ("smartwatch", "华为", "Watch GT 5", None, Decimal("1488.00")),
]


def demo_gtin(serial: int) -> str:
    """Return a valid GTIN-13 in the demo range."""
    body = f"69{serial:010d}"
    return body + gtin13_check_digit(body)


DEMO_STORE = "离石旗舰店"
# The catalogue entries the printed till sale uses, one after another: each a category of its own, since a buyer
# may claim once per category and year.
DEMO_TILL_PRODUCTS = (2, 1, 3, 4)


def prepare_store(uow: UnitOfWork, *, dealer_org_id: int, name: str = DEMO_STORE) -> int:
    """Open a store for a dealer and approve it for every category (idempotent); return the store id."""
    store_id = uow.session.scalar(select(Store.id).where(Store.dealer_org_id == dealer_org_id, Store.name == name))
    if store_id is None:
        store_id = participation.create_store(uow, principal=SEED_PRINCIPAL, dealer_org_id=dealer_org_id, name=name,
                                              address="吕梁市离石区滨河北西路 1 号", opens_at=dt.time(8, 0),
                                              closes_at=dt.time(22, 0)).id
    for category in (*APPLIANCE_CATEGORIES, *DIGITAL_CATEGORIES):
        for store in (None, store_id):
            participation.decide(uow, principal=SEED_PRINCIPAL, dealer_org_id=dealer_org_id, store_id=store,
                                 category=category, status="approved")
    participation.set_dealer_account(uow, principal=SEED_PRINCIPAL, dealer_org_id=dealer_org_id, account_name="",
                                     bank_name="中国工商银行吕梁分行", account_number="0505012345678901234")
    for serial, (category, brand, model, grade, price) in enumerate(DEMO_PRODUCTS, start=1):
        catalogue.upsert_product(uow, actor=SEED_ACTOR, gtin=demo_gtin(serial), category=category, brand=brand,
                                 model=model, energy_grade=grade, water_grade=None, reference_price=price)
    return store_id


@demo_step("appliance store and catalogue")
def seed_appliances(runtime: Runtime) -> str:
    """Open the demo appliance dealer's store, approve it, and load a small catalogue."""
    name = DEMO_ORGS["dealer:appliance"][1]
    with runtime.unit_of_work() as uow:
        dealer_id = organisation_named(uow, name)
        if dealer_id is None:
            return "no demo dealer"
        store_id = prepare_store(uow, dealer_org_id=dealer_id)
        uow.commit()
    return f"store {store_id}, {len(DEMO_PRODUCTS)} products"


def demo_store_id(uow: UnitOfWork) -> int | None:
    """The demo appliance dealer's store, if the demo prepared it."""
    dealer_id = organisation_named(uow, DEMO_ORGS["dealer:appliance"][1])
    found: int | None = uow.session.scalar(select(Store.id).where(Store.dealer_org_id == dealer_id,
                                                                  Store.name == DEMO_STORE))
    return found


@demo_note(20)
def appliance_buyer_note(runtime: Runtime, base_url: str) -> list[str]:
    """The walk-through of one appliance sale whose buyer claims the subsidy afterwards (fresh numbers each run)."""
    with runtime.unit_of_work() as uow:
        store_id = demo_store_id(uow)
        sold = int(uow.session.scalar(select(func.count()).select_from(ApplianceSale)
                                      .where(ApplianceSale.store_id == store_id)) or 0)
    serial = DEMO_TILL_PRODUCTS[sold % len(DEMO_TILL_PRODUCTS)]
    _category, brand, model, _grade, price = DEMO_PRODUCTS[serial - 1]
    body = (f'{{"store_id": {store_id}, "gtin": "{demo_gtin(serial)}", "price": "{price}", '
            f'"serial_number": "SN-DEMO-{sold + 1:04d}", "invoice_number": "261490000000{sold + 1:08d}", '
            '"mode": "claim"}')
    b = DEMO_BUYER
    return [
        "二、家电以旧换新(购买后申请补贴)",
        f"  购买人:{b.name}  身份证号:{b.id_number}  手机号:{b.phone}  银行卡号:{b.card}",
        f"  1. 收银:账号 dealer.appliance 登录后打开 {base_url}/api/docs,在 POST /api/v1/appliance-sales 中提交",
        f"     (门店 {DEMO_STORE},{brand} {model},{price} 元;再次运行 lvliang demo 会给出新的序列号和发票号):",
        f"     {body}",
        "  2. 返回的 receipt_url 即小票二维码的地址:购买人在手机上打开,填写上面的姓名、身份证号、手机号",
        "     (验证码同样在短信发件箱),再填银行卡号并提交。",
    ]
