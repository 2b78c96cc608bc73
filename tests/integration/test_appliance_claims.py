"""Claim after purchase from the receipt QR, and buyer confirmation from the store poster, through the pages."""

from __future__ import annotations

import itertools
import re
import threading
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.appliances import claims
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import ApplianceSale, Store
from subsidy_app.appliances.poster import POSTER_PURPOSE
from subsidy_app.applications.models import Application, ApplicationCheck
from subsidy_app.applications.views import STATUS_PURPOSE
from subsidy_app.core.qr import read_token, sign_printed, sign_token
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Organisation
from subsidy_app.messaging.services import list_outbox
from subsidy_app.rules.models import BudgetPool, BudgetReservation, QuotaHold
from subsidy_app.rules.services import VersionCache
from tests.appliance_fixtures import FRIDGE, TV, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import resident_id
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import bearer, csrf_token, login

NAME, PHONE = "李四", "13912340001"
ID_NUMBER = resident_id("14110219800101001")
CARD = "6222020000000000018"  # Luhn-valid
_addresses = itertools.count(1)


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(app: Flask, world) -> dict[str, str]:
    return bearer(app.test_client(), "dealer.appliance")


def _claim_sale(app: Flask, till: dict[str, str], world, gtin: str = FRIDGE, price: str = "4599.00",
                mode: str = "claim", token: str | None = None) -> tuple[str, int]:
    """Record a sale at the till; return the receipt QR's page path and the sale id."""
    status, body = sell(app.test_client(), till, sale_body(world.store_id, token, gtin, price, "2026-03-01",
                                                           mode=mode, delivery_address=_address()))
    assert status == 200 and body["eligible"], body
    return "/m/appliance/" + body["receipt_url"].rsplit("/", 1)[1], body["sale_id"]


def _status_code(location: str) -> str:
    token = location.split("?")[0].rsplit("/", 1)[1]
    return str(read_token(TEST_SECRET_KEY, STATUS_PURPOSE, token)["c"])


def _address() -> str:
    # Each sale to its own address, so no delivery-address signal is raised by the tests' own sales.
    return f"离石区测试路 {next(_addresses)} 号"


def _otp(uow: UnitOfWork, phone: str) -> str:
    found = re.search(r"\d{6}", list_outbox(uow, limit=1, phone=phone)[0].text)
    assert found is not None
    return found.group(0)


def _verify(client: FlaskClient, uow: UnitOfWork, page: str, *, name: str = NAME, id_number: str = ID_NUMBER,
            phone: str = PHONE) -> None:
    """Go through the identity step of a resident page (send the code, read it from the SMS outbox, enter it)."""
    form = {"name": name, "id_number": id_number, "phone": phone, "csrf_token": csrf_token(client, page)}
    sent = client.post(f"{page}/code", data=form)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    done = client.post(f"{page}/verify", data={**form, "code": _otp(uow, phone)})
    assert done.status_code == 302, done.get_data(as_text=True)


def _submit(client: FlaskClient, page: str, **form: str):
    data = {"bank_card_number": CARD, "bank_name": "中国工商银行", "consent": "yes", **form,
            "csrf_token": csrf_token(client, f"{page}/apply")}
    return client.post(f"{page}/apply", data={k: v for k, v in data.items() if v is not None})


def _count(uow: UnitOfWork, model: type) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_resident_claims_from_the_receipt_and_lands_on_the_status_receipt(app, uow, world, till) -> None:
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    landing = client.get(page).get_data(as_text=True)
    serial = uow.session.scalar(select(ApplianceSale.serial_key).where(ApplianceSale.id == sale_id))
    assert "冰箱" in landing and "4599.00" in landing and "689.85" in landing and "验证身份" in landing
    assert serial not in landing  # the serial number is shown masked
    store = uow.session.get(Store, world.store_id)
    dealer = uow.session.get(Organisation, store.dealer_org_id)
    assert f"{dealer.name} · {store.name}" in landing  # the dealer's name, as identity's organisations give it
    _verify(client, uow, page)
    answer = _submit(client, page)
    assert answer.status_code == 302 and "/m/s/" in answer.location and answer.location.endswith("?receipt=1")
    status = client.get(answer.location).get_data(as_text=True)
    app_row = uow.session.scalar(select(Application).where(Application.appliance_sale_id == sale_id))
    assert app_row is not None and app_row.number in status and "待审核" in status and "申请已提交" in status
    assert (app_row.programme, app_row.category, app_row.amount) == ("appliance", "refrigerator", Decimal("689.85"))
    assert app_row.state == "pending_review" and app_row.payee_kind == "resident"
    assert uow.session.get(ApplianceSale, sale_id).state == "claimed"
    hold = uow.session.scalar(select(QuotaHold).where(QuotaHold.reference == app_row.number))
    assert hold is not None and hold.state == "held" and hold.category == "refrigerator"
    reservation = uow.session.scalar(select(BudgetReservation).where(BudgetReservation.reference == app_row.number))
    assert reservation is not None and reservation.state == "reserved" and reservation.amount == Decimal("689.85")
    codes = set(uow.session.scalars(select(ApplicationCheck.code).where(
        ApplicationCheck.application_id == app_row.id)))
    assert "rule.energy_grade.allowed" in codes


def test_the_claim_is_reviewed_and_paid_through_the_applications_machinery(app, uow, world, till) -> None:
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    _verify(client, uow, page)
    assert _submit(client, page).status_code == 302
    app_row = uow.session.scalar(select(Application).where(Application.appliance_sale_id == sale_id))
    auditor = bearer(app.test_client(), "auditor.lishi")
    approved = app.test_client().post(f"/api/v1/applications/{app_row.id}/review", json={"action": "approve"},
                                      headers=auditor)
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["state"] == "approved"
    uow.session.expire_all()
    assert uow.session.scalar(select(QuotaHold.state).where(QuotaHold.reference == app_row.number)) == "confirmed"
    pool = uow.session.get(BudgetPool, world.pools["appliance"])
    reserved = uow.session.scalar(select(func.count()).select_from(BudgetReservation).where(
        BudgetReservation.reference == app_row.number, BudgetReservation.state == "reserved"))
    assert reserved == 1 and pool.reserved >= Decimal("689.85")  # approval reused the claim's reservation


def test_a_sale_is_claimed_once_and_a_second_tap_shows_the_first_claim(app, uow, world, till) -> None:
    page, sale_id = _claim_sale(app, till, world)
    first = app.test_client()
    _verify(first, uow, page)
    answer = _submit(first, page)
    again = _submit(first, page)  # a double tap: the resident sees their own claim
    # Each redirect signs a fresh token (with its own time stamp): compare the application they name.
    assert again.status_code == 302 and _status_code(again.location) == _status_code(answer.location)
    other = app.test_client()
    _verify(other, uow, page, name="王五", id_number=resident_id("14110219800101002"), phone="13912340002")
    refused = _submit(other, page)
    assert refused.status_code == 409 and "已申请过补贴" in refused.get_data(as_text=True)
    assert uow.session.scalar(select(func.count()).select_from(Application).where(
        Application.appliance_sale_id == sale_id)) == 1


def test_an_instant_discount_sale_cannot_be_claimed(app, uow, world, till) -> None:
    page, _sale = _claim_sale(app, till, world, mode="instant", token=buyer_token(uow, world.store_id, 7))
    client = app.test_client()
    landing = client.get(page).get_data(as_text=True)
    assert "不能再申请补贴" in landing and 'id="identity-form"' not in landing
    client2 = app.test_client()
    with client2.session_transaction() as session:  # a resident verified elsewhere (e.g. on another receipt)
        session["resident_person_id"] = _person(uow)
    refused = _submit(client2, page)
    assert refused.status_code == 409 and "立减" in refused.get_data(as_text=True)
    assert _count(uow, Application) == 0


def _person(uow: UnitOfWork) -> int:
    from subsidy_app.identity import persons

    person_id = persons.register_person(uow, actor="t", name=NAME, id_number=ID_NUMBER, phone=PHONE)
    uow.commit()
    return person_id


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        ({"bank_card_number": "6222020000000000019"}, "bank_card_number", "银行卡"),  # fails the Luhn check
        ({"consent": None}, "consent", "承诺书"),
    ],
)
def test_bad_claim_input_is_422_naming_the_field_and_writes_nothing(app, uow, world, till, form, field,
                                                                     text) -> None:
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    _verify(client, uow, page)
    before = (_count(uow, QuotaHold), _count(uow, BudgetReservation))
    answer = _submit(client, page, **form)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and f'data-field="{field}"' in body and text in body and "None" not in body
    assert _count(uow, Application) == 0 and (_count(uow, QuotaHold), _count(uow, BudgetReservation)) == before
    assert uow.session.get(ApplianceSale, sale_id).state == "claimable"


def test_the_claim_pages_read_the_tokens_the_till_signs() -> None:
    from subsidy_app.appliances import api_sales

    assert claims.RECEIPT_PURPOSE == api_sales.RECEIPT_PURPOSE


def test_bad_or_forged_qr_tokens_get_a_chinese_page_not_a_500(app, world) -> None:
    client = app.test_client()
    for path in ("/m/appliance/not-a-token", "/m/store/not-a-token"):
        answer = client.get(path)
        assert answer.status_code == 422 and "二维码无效" in answer.get_data(as_text=True)
    forged = sign_token("another-secret", "appliance-receipt", {"c": "x"}, max_age_days=30)
    assert client.get(f"/m/appliance/{forged}").status_code == 422


def test_a_wrong_sms_code_is_422_on_the_code_field(app, uow, world, till) -> None:
    page, _sale = _claim_sale(app, till, world)
    client = app.test_client()
    form = {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE, "csrf_token": csrf_token(client, page)}
    client.post(f"{page}/code", data=form)
    wrong = "000000" if _otp(uow, PHONE) != "000000" else "111111"
    answer = client.post(f"{page}/verify", data={**form, "code": wrong})
    assert answer.status_code == 422 and 'data-field="code"' in answer.get_data(as_text=True)
    unverified = client.get(f"{page}/apply")  # not verified: no claim form, and no staff login either
    assert unverified.status_code == 401 and "工作人员登录" not in unverified.get_data(as_text=True)


def test_claims_and_instant_discounts_share_one_quota(app, uow, world, till) -> None:
    # The person already got a fridge at the till (2026: one per category); the claim for a second is refused.
    instant_token = buyer_token(uow, world.store_id, 11)
    _claim_sale(app, till, world, mode="instant", token=instant_token)
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    _verify(client, uow, page, name="买家11", id_number=resident_id("14110219900101011"), phone="13900000011")
    refused = _submit(client, page)
    assert refused.status_code == 409 and "次数已用完" in refused.get_data(as_text=True)
    assert _count(uow, Application) == 0 and uow.session.get(ApplianceSale, sale_id).state == "claimable"


def test_the_store_poster_page_confirms_the_buyer_for_the_till(app, uow, world, till) -> None:
    poster_code = uow.session.scalar(select(Store.poster_code).where(Store.id == world.store_id))
    page = "/m/store/" + sign_printed(TEST_SECRET_KEY, POSTER_PURPOSE, {"c": poster_code})
    client = app.test_client()
    landing = client.get(page).get_data(as_text=True)
    assert "补贴标准" in landing and "冰箱" in landing and "以旧换新" in landing
    _verify(client, uow, page)
    shown = client.get(f"{page}/confirmed").get_data(as_text=True)
    found = re.search(r'id="confirmation"[^>]*>([^<]+)<', shown)
    assert found is not None and 'id="confirmation-qr"' in shown
    status, body = sell(app.test_client(), till, sale_body(world.store_id, found.group(1), TV, "3299.00",
                                                           "2025-03-01"))
    assert status == 200 and body["eligible"], body
    person = uow.session.scalar(select(ApplianceSale.person_id).where(ApplianceSale.id == body["sale_id"]))
    assert person == _person(uow)
    other_store = sale_body(world.store_id + 999, found.group(1), TV, "3299.00", "2025-03-01")
    assert sell(app.test_client(), till, other_store)[0] in (404, 422)


def test_the_confirmed_page_needs_a_verified_buyer(app, uow, world) -> None:
    poster_code = uow.session.scalar(select(Store.poster_code).where(Store.id == world.store_id))
    page = "/m/store/" + sign_printed(TEST_SECRET_KEY, POSTER_PURPOSE, {"c": poster_code})
    answer = app.test_client().get(f"{page}/confirmed")
    assert answer.status_code == 302 and answer.location.endswith(page)


def test_concurrent_claims_of_one_sale_make_one_application(postgres, committed_app, committed, cipher) -> None:
    from subsidy_app.core.jobs import InProcessDispatcher
    from subsidy_app.identity import persons
    from subsidy_app.seed import seed_demo

    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as setup:
        world = appliance_world(setup, seed_demo(setup))
        people = [persons.register_person(setup, actor="t", name=f"申请人{i}",
                                          id_number=resident_id(f"1411021980010120{i}"), phone=f"1391234020{i}")
                  for i in range(8)]
        setup.commit()
    till_headers = bearer(committed_app.test_client(), "dealer.appliance")
    status, body = sell(committed_app.test_client(), till_headers,
                        sale_body(world.store_id, None, FRIDGE, "4599.00", "2026-03-01", mode="claim",
                                  delivery_address=_address()))
    assert status == 200, body
    apply_code = _apply_code(committed, body["sale_id"])
    versions = VersionCache()
    outcomes: list[str] = []
    barrier = threading.Barrier(len(people))

    def attempt(person_id: int) -> None:
        with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as tx:
            barrier.wait()
            try:
                claims.claim(tx, apply_code=apply_code, person_id=person_id, versions=versions.versions(tx),
                             data=claims.ClaimInput(CARD, "工行", True), limits=FraudThresholds(),
                             actor=f"person:{person_id}")
                tx.commit()
                outcomes.append("ok")
            except Exception as exc:  # the reason is what the test checks
                outcomes.append(getattr(exc, "reason", repr(exc)))

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1 and set(outcomes) == {"ok", "sale.already_claimed"}, outcomes
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 1
        assert session.scalar(select(func.count()).select_from(QuotaHold)) == 1
        assert session.scalar(select(func.count()).select_from(BudgetReservation)) == 1


def _apply_code(committed, sale_id: int) -> str:
    with committed() as session:
        return str(session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == sale_id)))


def test_a_returned_claim_is_resubmitted_from_the_status_page_and_goes_back_to_review(app, uow, world,
                                                                                      till) -> None:
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    _verify(client, uow, page)
    status_page = _submit(client, page).location.split("?")[0]
    app_id = uow.session.scalar(select(Application.id).where(Application.appliance_sale_id == sale_id))
    auditor = bearer(app.test_client(), "auditor.lishi")
    returned = app.test_client().post(f"/api/v1/applications/{app_id}/review",
                                      json={"action": "return", "reason": "请补充发票照片"}, headers=auditor)
    assert returned.status_code == 200 and returned.get_json()["state"] == "returned"
    again = client.post(f"{status_page}/resubmit", data={"csrf_token": csrf_token(client, status_page)})
    assert again.status_code == 302
    uow.session.expire_all()
    assert uow.session.get(Application, app_id).state == "pending_review"


def test_a_claim_sale_with_no_buyer_and_no_address_is_recorded(app: Flask, world, till) -> None:
    # Nothing to count for the fraud signals: the till still answers (it used to fail with a 500).
    status, body = sell(app.test_client(), till, sale_body(world.store_id, None, FRIDGE, "4599.00", "2026-03-01",
                                                           mode="claim"))
    assert status == 200 and body["eligible"], body
    assert body["receipt_url"]


def test_a_return_waits_for_a_live_claim_but_not_for_a_rejected_one(app, uow, world, till) -> None:
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    _verify(client, uow, page)
    assert _submit(client, page).status_code == 302
    app_id = uow.session.scalar(select(Application.id).where(Application.appliance_sale_id == sale_id))
    returned = f"/api/v1/appliance-sales/{sale_id}/return"
    refused = app.test_client().post(returned, json={"reason": "顾客退货"}, headers=till)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "sale.claimed"
    auditor = bearer(app.test_client(), "auditor.lishi")
    rejected = app.test_client().post(f"/api/v1/applications/{app_id}/review",
                                      json={"action": "reject", "reason": "发票与商品不符"}, headers=auditor)
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    done = app.test_client().post(returned, json={"reason": "顾客退货"}, headers=till)
    assert done.status_code == 200 and done.get_json()["state"] == "returned", done.get_json()
    uow.session.expire_all()
    assert uow.session.get(ApplianceSale, sale_id).state == "returned"
    assert "已退货" in app.test_client().get(page).get_data(as_text=True)  # and the receipt can't be claimed again


def test_a_claim_paid_to_a_card_another_resident_named_fails_its_check(app, uow, world, till) -> None:
    from subsidy_app.applications.checks import latest_checks
    from subsidy_app.identity import persons

    people = [persons.register_person(uow, actor="t", name=f"申请人{i}", id_number=resident_id(f"1411021980020120{i}"),
                                      phone=f"1391234030{i}") for i in range(2)]
    outcomes = []
    for person_id in people:
        _page, sale_id = _claim_sale(app, till, world)
        apply_code = str(uow.session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == sale_id)))
        done = claims.claim(uow, apply_code=apply_code, person_id=person_id, versions=VersionCache().versions(uow),
                            data=claims.ClaimInput(CARD, "工行", True), limits=FraudThresholds(),
                            actor=f"person:{person_id}")
        outcomes.append({c.code: c for c in latest_checks(uow, application_id=done.application_id)})
    assert outcomes[0]["bank_card.own"].passed  # the first to name the card
    shared = outcomes[1]["bank_card.own"]
    assert not shared.passed and "另有 1 人登记使用" in shared.explanation_zh
    second = uow.session.get(Application, done.application_id)
    assert second is not None and second.needs_second_review


def test_the_claims_review_page_shows_the_purchase_not_car_fields(app, uow, world, till) -> None:
    page, sale_id = _claim_sale(app, till, world)
    client = app.test_client()
    _verify(client, uow, page)
    assert _submit(client, page).status_code == 302
    app_row = uow.session.scalar(select(Application).where(Application.appliance_sale_id == sale_id))
    sale = uow.session.get(ApplianceSale, sale_id)
    store = uow.session.get(Store, sale.store_id)
    reviewer = app.test_client()
    login(reviewer, "auditor.lishi")
    shown = reviewer.get(f"/review/{app_row.id}").get_data(as_text=True)
    summary = re.search(r'<table(?: id="summary")?>(.*?)</table>', shown, re.S)  # the first table
    assert summary is not None
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td[^>]*>([^<]*)</td></tr>", summary.group(1)))
    assert rows["商品"].startswith("冰箱 · ") and FRIDGE in rows["商品"]
    assert store.name in rows["门店"] and rows["序列号/IMEI"] == sale.serial_key
    assert rows["发票号码"] == sale.invoice_key and rows["售价"] == "4599.00 元"
    assert "新车车架号" not in shown and "旧车车架号" not in shown
