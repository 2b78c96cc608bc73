"""The resident pages' code and verify routes, and the till's buyer code, all go through one identity step."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select

import subsidy_app.messaging.tasks  # noqa: F401  (registers the send job)
from subsidy_app import resident_steps
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.messaging.services import list_outbox
from tests.appliance_fixtures import TV, appliance_world, sale_body, sell
from tests.car_fixtures import resident_id
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer, csrf_token

ROOT = Path(__file__).resolve().parents[2]
SEND_ROUTES = {"/m/car/<token>/code": "resident.send_code",
               "/m/appliance/<token>/code": "appliance_resident.claim_code",
               "/m/store/<token>/code": "appliance_resident.store_code"}
VERIFY_ROUTES = {"/m/car/<token>/verify": "resident.verify",
                 "/m/appliance/<token>/verify": "appliance_resident.claim_verify",
                 "/m/store/<token>/verify": "appliance_resident.store_verify"}
FORM = {"name": "周八", "id_number": resident_id("14110219850505005"), "phone": "13912347777", "code": "123456"}


def test_the_resident_pages_have_exactly_these_code_and_verify_routes(app: Flask) -> None:
    found = {r.rule: r.endpoint for r in app.url_map.iter_rules()
             if r.rule.startswith("/m/") and re.search(r"/(code|verify)$", r.rule)}
    assert found == {**SEND_ROUTES, **VERIFY_ROUTES}


def test_every_code_and_verify_route_calls_the_one_identity_step(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[tuple[str, str | None]] = []

    def spy(step: str):
        def step_fn(**_kw: Any) -> tuple[str, int]:
            called.append((step, request.endpoint))
            return "step", 200
        return step_fn

    monkeypatch.setattr(resident_steps, "send_code", spy("send_code"))
    monkeypatch.setattr(resident_steps, "verify", spy("verify"))
    client = app.test_client()
    form = {**FORM, "csrf_token": csrf_token(client)}
    for rule in (*SEND_ROUTES, *VERIFY_ROUTES):
        answer = client.post(rule.replace("<token>", "any-token"), data=form)
        assert answer.status_code == 200 and answer.get_data(as_text=True) == "step", rule
    assert called == [("send_code", e) for e in SEND_ROUTES.values()] + [("verify", e) for e in VERIFY_ROUTES.values()]


def _calls(tree: ast.AST, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names:
                found.append(name)
    return found


def test_no_copy_of_the_identity_step_remains() -> None:
    # Only identity.residents asks messaging for a one-time code or checks one, and only it names the purpose.
    callers, purpose = [], []
    for path in sorted((ROOT / "subsidy_app").rglob("*.py")) + sorted((ROOT / "recycling").rglob("*.py")) + sorted(
            (ROOT / "reverse_invoice").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module.startswith("subsidy_app/messaging/") or module == "subsidy_app/identity/residents.py":
            continue
        source = path.read_text(encoding="utf-8")
        if _calls(ast.parse(source), {"request_code", "verify_code"}):
            callers.append(module)
        if '"verify_identity"' in source:
            purpose.append(module)
    assert callers == [] and purpose == []


@pytest.mark.parametrize("rule", [*SEND_ROUTES, *VERIFY_ROUTES])
def test_the_code_and_verify_routes_still_need_the_csrf_token(client: FlaskClient, rule: str) -> None:
    answer = client.post(rule.replace("<token>", "any-token"), data=FORM)
    assert answer.status_code == 403 and "CSRF" in answer.get_data(as_text=True)


def test_the_code_and_verify_routes_keep_their_rate_limits(database_url: str, session_factory) -> None:
    from subsidy_app.app import create_app

    settings = make_settings(database_url, rate_limits=True)
    limited = create_app({**_settings_dict(settings), "session_factory": session_factory})
    for rules, limit in ((SEND_ROUTES, 10), (VERIFY_ROUTES, 20)):
        for rule in rules:
            client = limited.test_client()
            form = {**FORM, "csrf_token": csrf_token(client)}
            path = rule.replace("<token>", "not-a-token")
            answers = [client.post(path, data=form).status_code for _ in range(limit + 1)]
            assert 429 not in answers[:limit] and answers[limit] == 429, (rule, answers)


def test_the_till_sends_the_buyer_a_code_and_sells_with_it(app: Flask, uow: UnitOfWork,
                                                           demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    till = bearer(app.test_client(), "dealer.appliance")
    client = app.test_client()
    phone, id_number = "13912348888", resident_id("14110219850505013")
    assert client.post("/api/v1/appliance-buyer-codes", json={"phone": phone}, headers=till).status_code == 202
    found = re.search(r"\d{6}", list_outbox(uow, phone=phone, limit=1)[0].text)
    assert found is not None
    buyer = {"buyer_name": "吴九", "buyer_id_number": id_number, "buyer_phone": phone}
    wrong = "000000" if found.group(0) != "000000" else "111111"
    status, body = sell(client, till, sale_body(world.store_id, None, TV, "3299.00", "2025-03-01",
                                                **buyer, buyer_code=wrong))
    assert status == 422 and body["reason"] == "otp.wrong" and "code" in body["errors"]
    status, body = sell(client, till, sale_body(world.store_id, None, TV, "3299.00", "2025-03-01",
                                                **buyer, buyer_code=found.group(0)))
    assert status == 200 and body["eligible"], body
    sold_to = uow.session.scalar(select(ApplianceSale.person_id).where(ApplianceSale.id == body["sale_id"]))
    assert sold_to == persons.find_person_id(uow, id_number=id_number)


def test_the_till_names_buyer_phone_for_a_bad_number(app: Flask, uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = appliance_world(uow, demo)
    till = bearer(app.test_client(), "dealer.appliance")
    status, body = sell(app.test_client(), till, sale_body(
        world.store_id, None, TV, "3299.00", "2025-03-01", buyer_name="吴九",
        buyer_id_number=resident_id("14110219850505013"), buyer_phone="12", buyer_code="123456"))
    assert status == 422 and "buyer_phone" in body["errors"]
    bad = app.test_client().post("/api/v1/appliance-buyer-codes", json={"phone": "12"}, headers=till)
    assert bad.status_code == 422 and "phone" in bad.get_json()["errors"]
