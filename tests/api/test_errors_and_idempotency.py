"""One error envelope, 422 naming the field with nothing written, and Idempotency-Key replay."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from subsidy_app.core.db import utcnow
from subsidy_app.core.idempotency import IdempotencyRecord
from subsidy_app.identity.models import Organisation, Person
from tests.helpers import bearer

BAD_IDENTIFIERS = [
    ("/api/v1/persons", {"name": "张三", "id_number": "110105194912310021"}, "id_number"),
    ("/api/v1/persons", {"name": "张三", "id_number": "11010519491331002X"}, "id_number"),
    ("/api/v1/persons", {"name": "张三", "id_number": "11010519491231002X", "phone": "12345"}, "phone"),
    ("/api/v1/organisations", {"kind": "dealer", "name": "某公司", "credit_code": "91350100M000100YI3",
                               "county_code": "141102"}, "credit_code"),
    ("/api/v1/organisations", {"kind": "dealer", "name": "某公司", "credit_code": "91350100M000100Y43",
                               "county_code": "999999"}, "county_code"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_IDENTIFIERS)
def test_invalid_identifier_is_422_naming_the_field_and_writes_nothing(
    client: FlaskClient, demo: dict[str, int], uow, path: str, body: dict[str, str], field: str
) -> None:
    headers = bearer(client, "admin")
    before = (uow.session.scalar(select(func.count()).select_from(Person)),
              uow.session.scalar(select(func.count()).select_from(Organisation)))
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 422
    envelope = response.get_json()
    assert field in envelope["errors"]
    assert envelope["reason"]
    after = (uow.session.scalar(select(func.count()).select_from(Person)),
             uow.session.scalar(select(func.count()).select_from(Organisation)))
    assert after == before


def test_credit_code_with_wrong_check_character_is_kept_with_a_warning(client: FlaskClient,
                                                                       demo: dict[str, int]) -> None:
    headers = bearer(client, "admin")
    response = client.post("/api/v1/organisations", headers=headers, json={
        "kind": "dealer", "name": "早期登记的公司", "credit_code": "91350100M000100Y44", "county_code": "141102"})
    assert response.status_code == 201
    assert response.get_json()["credit_code_warning"]


def test_malformed_json_is_400_envelope(client: FlaskClient, demo: dict[str, int]) -> None:
    headers = bearer(client, "admin")
    response = client.post("/api/v1/persons", data="{not json", headers={**headers,
                                                                          "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert set(response.get_json()) == {"code", "status", "message", "reason", "errors"}


def test_unknown_path_is_404_envelope(client: FlaskClient) -> None:
    body = client.get("/api/v1/nothing-here").get_json()
    assert body["code"] == 404


def test_replayed_key_returns_first_response_and_writes_once(client: FlaskClient, demo: dict[str, int],
                                                             uow) -> None:
    headers = {**bearer(client, "dealer.car"), "Idempotency-Key": "person-1"}
    body = {"name": "李四", "id_number": "11010519491231002X"}
    first = client.post("/api/v1/persons", json=body, headers=headers)
    second = client.post("/api/v1/persons", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert uow.session.scalar(select(func.count()).select_from(Person)) == 1


def test_same_key_with_different_body_is_422(client: FlaskClient, demo: dict[str, int]) -> None:
    headers = {**bearer(client, "dealer.car"), "Idempotency-Key": "person-2"}
    client.post("/api/v1/persons", json={"name": "李四", "id_number": "11010519491231002X"}, headers=headers)
    other = client.post("/api/v1/persons", json={"name": "李四", "id_number": "110101199003070011"},
                        headers=headers)
    assert other.status_code == 422
    assert other.get_json()["reason"] == "idempotency.key_reused"


def test_keys_are_per_caller(client: FlaskClient, demo: dict[str, int]) -> None:
    body = {"name": "李四", "id_number": "11010519491231002X"}
    a = client.post("/api/v1/persons", json=body, headers={**bearer(client, "dealer.car"), "Idempotency-Key": "k"})
    b = client.post("/api/v1/persons", json=body,
                    headers={**bearer(client, "dealer.appliance"), "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b.headers


def test_openapi_document_is_valid_openapi_3(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/persons" in spec["paths"]
    assert client.get("/api/docs").status_code == 200


@pytest.mark.parametrize(("age_seconds", "reason"), [(5, "idempotency.in_progress"), (300, "idempotency.answer_lost")])
def test_a_key_committed_without_its_answer(client: FlaskClient, demo: dict[str, int], uow, age_seconds: int,
                                            reason: str) -> None:
    headers = {**bearer(client, "dealer.car"), "Idempotency-Key": f"lost-{age_seconds}"}
    body = {"name": "李四", "id_number": "11010519491231002X"}
    assert client.post("/api/v1/persons", json=body, headers=headers).status_code == 201
    # As if the process died between committing the writes and saving the answer.
    uow.session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == f"lost-{age_seconds}")
                        .values(status_code=None, response_body=None,
                                created_at=utcnow() - dt.timedelta(seconds=age_seconds)))
    uow.flush()
    again = client.post("/api/v1/persons", json=body, headers=headers)
    assert (again.status_code, again.get_json()["reason"]) == (409, reason)
    assert uow.session.scalar(select(func.count()).select_from(Person)) == 1


# Found by fuzzing the OpenAPI document (schemathesis): each was a 500 before.
OUT_OF_RANGE = [
    ("post", "/api/v1/accounts", {"organisation_id": -(2**84), "username": "fuzz.user", "display_name": "x",
                                  "password": "long-enough-pw", "roles": ["auditor"], "all_counties": True},
     "organisation_id"),
    ("post", "/api/v1/budget-pools/1/proposals", {"kind": "top_up", "amount": 6.2193420640350984e16,
                                                  "source": "city", "reason": "fuzz"}, "amount"),
    ("post", "/api/v1/budget-pools/1/proposals", {"kind": "reallocate", "amount": "1.00", "reason": "fuzz",
                                                  "from_pool_id": 2**70}, "from_pool_id"),
    ("get", "/api/v1/reverse-invoice/invoices?month=0000-01", None, "month"),
    ("post", "/api/v1/reverse-invoice/sellers/1/corrections", {"month": "0000-01"}, "month"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), OUT_OF_RANGE)
def test_a_value_out_of_range_is_422_naming_the_field(client: FlaskClient, demo: dict[str, int], method: str,
                                                      path: str, body: dict[str, object] | None, field: str) -> None:
    # Sent as text: the test client's own JSON encoder refuses integers past 64 bits, a till's needn't.
    response = getattr(client, method)(path, data=None if body is None else json.dumps(body),
                                       content_type="application/json", headers=bearer(client, "admin"))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("path", ["/api/v1/jobs/14909797311083858773409792",
                                  "/api/v1/appliance-settlements/5203490553191440842752",
                                  "/api/v1/reverse-invoice/recyclers/10000000000000000000"])
def test_an_id_past_the_databases_range_is_404(client: FlaskClient, demo: dict[str, int], path: str) -> None:
    response = client.get(path, headers=bearer(client, "admin"))
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_a_filter_past_the_databases_range_is_422(client: FlaskClient, demo: dict[str, int]) -> None:
    response = client.get("/api/v1/reverse-invoice/invoices?seller_id=99999999999999999999999",
                          headers=bearer(client, "admin"))
    assert (response.status_code, response.get_json()["reason"]) == (422, "input.out_of_range")
