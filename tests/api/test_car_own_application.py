"""A resident who applies again for what her own application holds is shown that application, not a stranger's."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from tests.car_fixtures import CARD, another_sale, car_world, pay_over_http, resident_id, submit
from tests.helpers import bearer, csrf_token


def _signed_in(client: FlaskClient, person_id: int) -> FlaskClient:
    with client.session_transaction() as session:  # what the identity step leaves behind
        session["resident_person_id"] = person_id
    return client


def _apply_path(client: FlaskClient, sale_id: int) -> str:
    url = client.get(f"/api/v1/car-sales/{sale_id}", headers=bearer(client, "dealer.car")).get_json()["apply_url"]
    return "/m/car/" + url.rsplit("/", 1)[1]


def _submit_form(client: FlaskClient, path: str, certificate_number: str):
    return client.post(path + "/apply", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/"), "programme": "car_scrap", "county_code": "141102",
        "certificate_number": certificate_number, "bank_card_number": CARD, "bank_name": "中国工商银行",
        "consent": "yes", "id_card": (io.BytesIO(b"%PDF-1.4 id"), "id.pdf")})


def test_the_certificate_again_names_her_own_application_with_a_link_to_its_status(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    world = car_world(uow, demo)
    first = submit(uow, world)
    path = _apply_path(client, another_sale(uow, demo).id)
    answer = _submit_form(_signed_in(client, world.person_id), path, world.certificate_number)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "该报废机动车回收证明已用于您本人的申请" in page and first.number in page and "其他申请" not in page
    link = re.search(r'href="([^"]+)" id="own-application-link"', page)
    assert link is not None and link.group(1)
    status = client.get(link.group(1))
    assert status.status_code == 200 and f'id="application-number">{first.number}<' in status.get_data(as_text=True)


def test_someone_else_trying_her_certificate_is_still_told_another_application_holds_it(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    world = car_world(uow, demo)
    first = submit(uow, world)
    other_id = resident_id("14110219800101002")
    other = persons.register_person(uow, actor="t", name="王五", id_number=other_id, phone="13912340002")
    uow.commit()
    path = _apply_path(client, another_sale(uow, demo, buyer_id=other_id).id)
    answer = _submit_form(_signed_in(client, other), path, world.certificate_number)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "已被其他申请使用" in page
    assert first.number not in page and 'id="own-application"' not in page


def test_the_sale_qr_after_payment_opens_her_applications_status(client: FlaskClient, demo: dict[str, int],
                                                                 uow: UnitOfWork) -> None:
    world = car_world(uow, demo)
    first = submit(uow, world)
    pay_over_http(client, first.application_id, first.number)
    path = _apply_path(client, world.sale.id)
    page = _signed_in(client, world.person_id).get(path, follow_redirects=True)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.request.path.startswith("/m/s/")
    assert f'id="application-number">{first.number}<' in body and '<strong id="state">已发放</strong>' in body
    assert 'id="apply-form"' not in body


@contextmanager
def _days_on(days: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Read timed tokens (itsdangerous) as if `days` had passed."""
    from itsdangerous import TimestampSigner

    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + days * 86400)
        yield


def test_the_sale_qr_past_its_days_still_opens_her_paid_application_and_nothing_else(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch) -> None:
    world = car_world(uow, demo)
    first = submit(uow, world)
    pay_over_http(client, first.application_id, first.number)
    path = _apply_path(client, world.sale.id)
    days = client.application.extensions["subsidy"].settings.qr_token_days
    with _days_on(days + 60, monkeypatch):  # paid two months after the code ran out
        landing = client.get(path)  # a fresh phone: the identity step, not "expired"
        assert landing.status_code == 200 and 'id="identity-form"' in landing.get_data(as_text=True)
        page = _signed_in(client, world.person_id).get(path, follow_redirects=True)
        assert page.request.path.startswith("/m/s/") and '<strong id="state">已发放</strong>' in page.get_data(
            as_text=True)
        other = persons.register_person(uow, actor="t", name="王五", id_number=resident_id("14110219800101002"),
                                        phone="13912340002")
        uow.commit()
        stranger = _signed_in(client.application.test_client(), other).get(path + "/apply")
        assert stranger.status_code == 422 and "二维码已过期" in stranger.get_data(as_text=True)
        late = _submit_form(_signed_in(client, world.person_id), path, world.certificate_number)
        assert late.status_code == 422 and "二维码已过期" in late.get_data(as_text=True)  # no new application
