"""Refused forms through the pages: every bad field at once, beside it; residents read Chinese only, once; office
pages name the field in every message (issue 14 item 10)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from subsidy_app.applications import sales
from subsidy_app.applications.dealer_views import FIELD_LABELS
from subsidy_app.core.uow import UnitOfWork
from tests.api.test_staff_pages import SALE_FORM
from tests.car_fixtures import car_world
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import csrf_token, login
from tests.recycling_support import build_network

_FIELD_ERROR = re.compile(r'<p class="field-error" id="(\w+)-error" data-field="\w+">([^<]*)</p>')
_SUMMARY = re.compile(r'<div class="flash error" role="alert" id="form-error">(.*?)</div>', re.S)


def _shown(page: str) -> dict[str, str]:
    """Each field's message as shown beside it."""
    return dict(_FIELD_ERROR.findall(page))


def _assert_resident_reads_chinese_once(page: str, fields: set[str]) -> None:
    shown = _shown(page)
    assert set(shown) == fields, shown
    summary = _SUMMARY.search(page)
    assert summary is not None
    visible = re.sub(r"<[^>]+>", "", summary.group(1)) + "".join(shown.values())
    assert not re.search(r"[A-Za-z]", visible), visible  # no English half, no field key such as "phone:"
    for message in shown.values():
        assert page.count(message) == 1, message  # beside its field only, not again at the top


def test_the_identity_step_shows_each_bad_field_beside_it_in_chinese(client: FlaskClient, uow: UnitOfWork,
                                                                       demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    page = f"/m/car/{sales.apply_token(TEST_SECRET_KEY, world.sale, days=30)}"
    form = {"name": "王", "id_number": "1234", "phone": "12", "code": "", "csrf_token": csrf_token(client, page)}
    refused = client.post(f"{page}/verify", data=form)
    assert refused.status_code == 422
    _assert_resident_reads_chinese_once(refused.get_data(as_text=True), {"name", "id_number", "phone", "code"})
    sent = client.post(f"{page}/code", data={**form, "code": None})
    assert sent.status_code == 422 and set(_shown(sent.get_data(as_text=True))) == {"name", "id_number", "phone"}


def test_the_application_form_shows_each_bad_field_beside_it_in_chinese(client: FlaskClient, uow: UnitOfWork,
                                                                          demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    page = f"/m/car/{sales.apply_token(TEST_SECRET_KEY, world.sale, days=30)}/apply"
    with client.session_transaction() as session:
        session["resident_person_id"] = world.person_id
    refused = client.post(page, data={"programme": "car_scrap", "county_code": "141102", "certificate_number": "",
                                      "bank_card_number": "6222020000000000019", "bank_name": "中国工商银行",
                                      "csrf_token": csrf_token(client, page)})
    assert refused.status_code == 422
    _assert_resident_reads_chinese_once(refused.get_data(as_text=True),
                                        {"certificate_number", "bank_card_number", "consent"})


def test_the_sale_form_names_the_field_in_every_message(client: FlaskClient, demo: dict[str, int]) -> None:
    csrf = login(client, "dealer.car")
    refused = client.post("/dealer/car-sales/new", data={
        **SALE_FORM, "new_vin": "123", "invoice_date": "2026-13-01", "invoice_total": "abc", "buyer_name": "王",
        "csrf_token": csrf})
    assert refused.status_code == 422
    shown = _shown(refused.get_data(as_text=True))
    assert set(shown) == {"new_vin", "invoice_date", "invoice_total", "buyer_name"}
    for field, message in shown.items():
        assert message.startswith(FIELD_LABELS[field] + ":"), message
    assert shown["invoice_date"].startswith("开票日期:日期格式应为 YYYY-MM-DD")


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]):
    return build_network(uow, demo)


def test_the_intake_form_names_the_field_in_every_message(client: FlaskClient, network) -> None:
    csrf = login(client, "recycler.dismantler")
    refused = client.post("/recycling/intake", data={
        "csrf_token": csrf, "site_id": network.drop_off, "source": "resident", "category": "office.printer",
        "units": "two", "weight_kg": "8.5", "occurred_on": "2026/12/01"})
    assert refused.status_code == 422
    shown = _shown(refused.get_data(as_text=True))
    assert shown == {"units": "数量:应为整数 / must be a whole number",
                     "occurred_on": "日期:日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD"}


def test_a_refused_receipt_code_is_told_in_chinese_only(client: FlaskClient, demo: dict[str, int]) -> None:
    refused = client.get("/m/appliance/not-a-signed-code")
    message = re.search(r'id="page-error">([^<]*)<', refused.get_data(as_text=True))
    assert refused.status_code == 422 and message is not None
    assert message.group(1) and not re.search(r"[A-Za-z]", message.group(1)), message.group(1)
