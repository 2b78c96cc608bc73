"""Printed codes (store posters, scrap certificates) last the whole programme and are revoked; a sale's expires."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import select

from recycling import issuing
from subsidy_app.appliances import participation, poster
from subsidy_app.appliances.api_sales import RECEIPT_PURPOSE, receipt_url
from subsidy_app.appliances.demo import SEED_PRINCIPAL
from subsidy_app.appliances.domain import APPLIANCE_CATEGORIES, DIGITAL_CATEGORIES
from subsidy_app.appliances.models import Store
from subsidy_app.applications import sales
from subsidy_app.core.qr import sign_printed, sign_token
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.messaging.services import list_outbox
from tests.appliance_fixtures import appliance_world
from tests.car_fixtures import car_world
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import csrf_token
from tests.recycling_support import CertificateDraftFactory, build_network

DAY = 86400


@contextmanager
def days_from_now(days: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Move the signing clock of timed tokens (itsdangerous) by `days`, for signing or for reading."""
    from itsdangerous import TimestampSigner

    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + days * DAY)
        yield


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


def _store_page(app: Flask, uow: UnitOfWork, store_id: int) -> str:
    """Return the path the store's printed poster QR holds, as the poster endpoint makes it."""
    with app.app_context():
        url = poster.poster_url(participation.get_store(uow, store_id=store_id))
    return url.replace(app.extensions["subsidy"].settings.public_base_url, "")


def test_a_store_poster_still_opens_its_page_400_days_on(app: Flask, uow: UnitOfWork, world,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    page = _store_page(app, uow, world.store_id)
    with days_from_now(400, monkeypatch):
        landing = app.test_client().get(page)
    assert landing.status_code == 200 and "补贴标准" in landing.get_data(as_text=True)


def test_a_poster_printed_400_days_ago_with_the_old_expiring_code_still_works(
        app: Flask, uow: UnitOfWork, world, monkeypatch: pytest.MonkeyPatch) -> None:
    # Posters already on walls carry the former 30-day code; they keep working.
    code = uow.session.scalar(select(Store.poster_code).where(Store.id == world.store_id))
    with days_from_now(-400, monkeypatch):
        old = sign_token(TEST_SECRET_KEY, poster.POSTER_PURPOSE, {"c": code}, max_age_days=30)
    assert app.test_client().get(f"/m/store/{old}").status_code == 200


def _suspend(uow: UnitOfWork, world, categories: tuple[str, ...], *, store: bool) -> None:
    for category in categories:
        participation.decide(uow, principal=SEED_PRINCIPAL, dealer_org_id=world.dealer_org,
                             store_id=world.store_id if store else None, category=category, status="suspended",
                             reason="核查中")
    uow.commit()


def test_a_suspended_store_poster_says_so_and_takes_no_identity_step(app: Flask, uow: UnitOfWork, world) -> None:
    page = _store_page(app, uow, world.store_id)
    _suspend(uow, world, (*APPLIANCE_CATEGORIES, *DIGITAL_CATEGORIES), store=False)  # the dealer, all it sells
    client = app.test_client()
    landing = client.get(page)
    text = landing.get_data(as_text=True)
    assert landing.status_code == 200 and 'id="store-suspended"' in text and "补贴资格已暂停" in text
    assert "验证身份" not in text  # no identity form for a store that cannot sell with a subsidy
    form = {"name": "李四", "id_number": "110101199003070016", "phone": "13912340009",
            "csrf_token": csrf_token(client, page)}
    refused = client.post(f"{page}/code", data=form)
    assert refused.status_code == 409 and "补贴资格已暂停" in refused.get_data(as_text=True)
    assert list_outbox(uow, limit=1, phone="13912340009") == []  # no SMS spent on it


def test_a_store_suspended_for_one_category_lists_it_as_suspended(app: Flask, uow: UnitOfWork, world) -> None:
    _suspend(uow, world, ("television",), store=True)
    text = app.test_client().get(_store_page(app, uow, world.store_id)).get_data(as_text=True)
    found = re.search(r'id="categories">([^<]*)<', text)
    assert found is not None and "电视" not in found.group(1) and "冰箱" in found.group(1)
    assert "以下品类补贴已暂停:电视" in text and 'id="store-suspended"' not in text


def test_a_certificate_code_verifies_400_days_on_and_shows_revoked_once_revoked(
        app: Flask, uow: UnitOfWork, demo: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    network = build_network(uow, demo)
    certificate_id = issuing.issue_certificate(uow, actor="t", dismantler_org_id=network.org_id,
                                               draft=CertificateDraftFactory())
    token = issuing.verification_token(uow, certificate_id=certificate_id, secret_key=TEST_SECRET_KEY)
    number = issuing.verify_public(uow, token=token, secret_key=TEST_SECRET_KEY).number
    with days_from_now(-400, monkeypatch):  # a certificate printed with the former expiring code
        old = sign_token(TEST_SECRET_KEY, issuing.QR_PURPOSE, {"k": _verify_key(uow, certificate_id)},
                         max_age_days=30)
    client = app.test_client()
    with days_from_now(400, monkeypatch):
        for code in (token, old):
            page = client.get(f"/verify/certificate/{code}")
            assert page.status_code == 200 and "真实有效" in page.get_data(as_text=True)
            assert number in page.get_data(as_text=True)
    issuing.revoke_certificate(uow, actor="t", dismantler_org_id=network.org_id, certificate_id=certificate_id,
                               reason="录入错误")
    uow.commit()
    for code in (token, old):
        text = client.get(f"/verify/certificate/{code}").get_data(as_text=True)
        assert 'id="certificate-revoked"' in text and "已作废" in text and "真实有效" not in text


def _verify_key(uow: UnitOfWork, certificate_id: int) -> str:
    from recycling.models import ScrapCertificate

    return str(uow.session.get(ScrapCertificate, certificate_id).verify_key)


def test_a_sale_apply_code_still_expires(app: Flask, uow: UnitOfWork, demo: dict[str, int],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    car = car_world(uow, demo)
    days = app.extensions["subsidy"].settings.qr_token_days
    token = sales.apply_token(TEST_SECRET_KEY, car.sale, days=days)
    client = app.test_client()
    with days_from_now(days - 1, monkeypatch):
        assert client.get(f"/m/car/{token}").status_code == 200
    with days_from_now(days + 1, monkeypatch):
        expired = client.get(f"/m/car/{token}")
    assert expired.status_code == 422 and "二维码已过期" in expired.get_data(as_text=True)


def test_an_appliance_receipt_code_still_expires(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        token = receipt_url("any-apply-code").rsplit("/", 1)[1]
    with days_from_now(app.extensions["subsidy"].settings.qr_token_days + 1, monkeypatch):
        expired = app.test_client().get(f"/m/appliance/{token}")
    assert expired.status_code == 422 and "二维码已过期" in expired.get_data(as_text=True)


def test_a_lasting_code_is_never_an_apply_code(app: Flask, uow: UnitOfWork, demo: dict[str, int]) -> None:
    car = car_world(uow, demo)
    client = app.test_client()
    # A poster's code, and lasting codes made with the apply codes' own purposes and payloads: all refused.
    payload = {"c": car.sale.apply_code}
    forged = [("/m/car/", poster.POSTER_PURPOSE), ("/m/car/", sales.SALE_TOKEN_PURPOSE),
              ("/m/appliance/", RECEIPT_PURPOSE)]
    for prefix, purpose in forged:
        answer = client.get(prefix + sign_printed(TEST_SECRET_KEY, purpose, payload))
        assert answer.status_code == 422 and "二维码无效" in answer.get_data(as_text=True), (prefix, purpose)
