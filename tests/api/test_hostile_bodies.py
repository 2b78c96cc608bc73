"""Hostile bodies get a 4xx: every state-changing route of the URL map answers a body nested 50,000 deep or a
number of 5,000 digits with 400 `body.invalid_json` where it reads JSON (never 5xx elsewhere), and a body past the
route's limit with 413 `body.too_large` before anything reads it.

Each route is called by a caller its access rule admits, so the request reaches the body's parsing; the JSON
routes are those whose OpenAPI operation takes an `application/json` body."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, Rule

from subsidy_app.access import declared_rule
from subsidy_app.bodies import route_limit
from subsidy_app.identity.domain import Role
from tests.helpers import bearer, reason_of

HOSTILE = {
    "an array nested 50,000 deep": b"[" * 50_000 + b"]" * 50_000,
    "an object nested 50,000 deep": b'{"":' * 50_000 + b"1" + b"}" * 50_000,
    "an integer of 5,000 digits": b'{"n": ' + b"9" * 5_000 + b"}",
    "a top-level integer of 5,000 digits": b"9" * 5_000,
}
CALLERS = {Role.ADMIN: "admin", Role.AUDITOR: "auditor.lishi", Role.SENIOR_AUDITOR: "senior.city",
           Role.FINANCE_OFFICER: "finance.city", Role.DEALER_CLERK: "dealer.appliance",
           Role.RECYCLER_CLERK: "recycler.dismantler"}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _routes(app: Flask) -> list[tuple[Rule, str]]:
    return [(rule, method) for rule in app.url_map.iter_rules() for method in UNSAFE if method in rule.methods]


def _path(rule: Rule) -> str:
    """The rule's URL with each variable filled: an id of no record (DELETE /tokens/<id> would revoke a caller's
    token), a word for the rest."""
    values = {name: 10**9 if isinstance(rule._converters[name], IntegerConverter) else "x" for name in rule.arguments}
    return rule.build(values)[1]


def _json_operations(client: FlaskClient) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every operation documented as taking a JSON body."""
    spec = client.get("/api/openapi.json").get_json()
    return {(method.upper(), path) for path, operations in spec["paths"].items()
            for method, operation in operations.items() if method.upper() in UNSAFE
            and "application/json" in (operation.get("requestBody") or {}).get("content", {})}


def _openapi_path(rule: Rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


@pytest.fixture
def callers(client: FlaskClient, demo: dict[str, int]) -> dict[Role, dict[str, str]]:
    return {role: bearer(client, username) for role, username in CALLERS.items()}


def _headers(app: Flask, rule: Rule, method: str, callers: dict[Role, dict[str, str]]) -> dict[str, str]:
    declared = declared_rule(app.view_functions[rule.endpoint], method)
    assert declared is not None, rule
    for role in CALLERS:  # the same caller each run, whichever order the rule lists its roles in
        if role in declared.roles:
            return callers[role]
    return {}  # public and resident pages: anonymous


def test_every_json_route_answers_a_hostile_body_with_400_and_no_route_with_5xx(
        app: Flask, client: FlaskClient, callers: dict[Role, dict[str, str]]) -> None:
    json_operations = _json_operations(client)
    routes = _routes(app)
    json_routes = [(r, m) for r, m in routes if (m, _openapi_path(r)) in json_operations]
    assert len(json_routes) > 40 and any(r.rule == "/api/v1/car-sales" for r, _ in json_routes)
    failures: list[str] = []
    for rule, method in routes:
        expects_json = (rule, method) in json_routes
        for what, body in HOSTILE.items():
            response = client.open(_path(rule), method=method, data=body, content_type="application/json",
                                   headers=_headers(app, rule, method, callers))
            answer: Any = response.get_json(silent=True) or {}
            if response.status_code >= 500 or (expects_json and (
                    response.status_code != 400 or answer.get("reason") != "body.invalid_json"
                    or "json" not in answer.get("errors", {}))):
                failures.append(f"{method} {rule.rule} with {what}: {response.status_code} {answer.get('reason')}")
    assert failures == [], "\n".join(failures)


def test_every_route_answers_a_body_past_its_limit_with_413_before_reading_it(
        app: Flask, client: FlaskClient, callers: dict[Role, dict[str, str]]) -> None:
    failures: list[str] = []
    limits: dict[int, bytes] = {}
    for rule, method in _routes(app):
        limit = route_limit(app, rule.endpoint, method)
        body = limits.setdefault(limit, b" " * (limit + 1))
        response = client.open(_path(rule), method=method, data=body, content_type="application/json",
                               headers=_headers(app, rule, method, callers))
        answer: Any = response.get_json(silent=True) or {}
        if response.status_code != 413 or answer.get("reason") != "body.too_large" or not answer.get("errors"):
            failures.append(f"{method} {rule.rule}: {response.status_code} {answer.get('reason')}")
    assert failures == [], "\n".join(failures)
    assert len(limits) >= 3  # JSON and forms, table files, residents' document pages


def test_json_routes_take_a_small_body_and_upload_routes_their_file_limit(app: Flask) -> None:
    settings = app.extensions["subsidy"].settings
    assert route_limit(app, "applications.CarSales", "POST") == settings.json_body_max_bytes <= 1024 * 1024
    for endpoint in ("appliance_sales.BulkSales", "appliances.ProductImport", "applications.BankResults",
                     "finance_pages.upload_results", "recycling.IntakeImports", "vehicles.RegistryImports"):
        assert route_limit(app, endpoint, "POST") == settings.upload_max_bytes, endpoint
    for endpoint in ("resident.car_apply", "resident.resubmit"):
        assert route_limit(app, endpoint, "POST") == settings.document_upload_max_bytes, endpoint


def test_a_streamed_body_without_a_length_is_cut_at_the_limit(client: FlaskClient,
                                                             callers: dict[Role, dict[str, str]]) -> None:
    limit = client.application.extensions["subsidy"].settings.json_body_max_bytes
    response = client.post("/api/v1/car-sales", input_stream=io.BytesIO(b"[" + b" " * limit + b"]"),
                           content_type="application/json", headers=callers[Role.DEALER_CLERK],
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert reason_of(response) == "body.too_large"


def test_a_body_past_the_limit_is_refused_before_the_login_form_reads_it(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "x" * 300_000, "password": "y"})
    assert response.status_code == 413
    assert reason_of(response) == "body.too_large"


def test_a_well_formed_body_below_the_limit_still_reaches_the_schema(
        client: FlaskClient, callers: dict[Role, dict[str, str]]) -> None:
    response = client.post("/api/v1/car-sales", json={"new_vin": "x"}, headers=callers[Role.DEALER_CLERK])
    assert response.status_code == 422
    assert response.get_json()["reason"] == "validation.failed"
    empty = client.post("/api/v1/car-sales", data=b"", content_type="application/json",
                        headers=callers[Role.DEALER_CLERK])
    assert empty.status_code == 422  # no body: the schema names its required fields


@pytest.mark.parametrize(("path", "caller", "missing"), [
    ("/api/v1/appliance-products/import", Role.ADMIN, "gtin"),
    ("/api/v1/recycling/intake-imports?mode=valid_only", Role.RECYCLER_CLERK, "site_code"),
    ("/api/v1/vehicle-registry/imports", Role.ADMIN, "车辆识别代号"),
])
def test_every_table_upload_refuses_a_wrong_header_at_once_naming_file_and_the_missing_column(
        client: FlaskClient, uow: Any, callers: dict[Role, dict[str, str]], path: str, caller: Role,
        missing: str) -> None:
    from sqlalchemy import func, select

    from subsidy_app.core.outbox import OutboxMessage

    # Rows enough for the intake import's background job, had the header been right (the bulk sales file's own
    # test is in test_appliance_bulk_api.py).
    wrong = ("名称,数量\n" + "冰箱,1\n" * 2_500).encode("utf-8")
    queued_before = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    response = client.post(path, headers=callers[caller], content_type="multipart/form-data",
                           data={"file": (io.BytesIO(wrong), "wrong.csv")})
    body = response.get_json()
    assert response.status_code == 422, body
    assert missing in body["errors"]["file"][0]
    assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == queued_before
