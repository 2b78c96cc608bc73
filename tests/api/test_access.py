"""Every endpoint declares who may call it, and roles and county scopes hold."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from subsidy_app.access import declared_rule
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import Role
from subsidy_app.seed import DEMO_PASSWORD
from tests.car_fixtures import vin
from tests.helpers import bearer, login, reason_of


def test_every_registered_route_declares_its_access(app: Flask) -> None:
    undeclared = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            if declared_rule(view, method) is None:
                undeclared.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert undeclared == []
    assert len(list(app.url_map.iter_rules())) > 10


def test_an_undeclared_view_is_refused_at_runtime(app: Flask) -> None:
    app.add_url_rule("/sneaky", "sneaky", lambda: "secret")
    response = app.test_client().get("/sneaky")
    assert response.status_code == 403
    assert reason_of(response) == "auth.undeclared"


def test_anonymous_api_call_gets_401_envelope(client: FlaskClient, demo: dict[str, int]) -> None:
    body = client.get("/api/v1/organisations").get_json()
    assert body["code"] == 401
    assert body["reason"] == "auth.required"
    assert set(body) == {"code", "status", "message", "reason", "errors"}


def test_revoked_token_is_refused(client: FlaskClient, demo: dict[str, int]) -> None:
    headers = bearer(client, "dealer.car")
    token_id = client.get("/api/v1/tokens", headers=headers).get_json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["reason"] == "auth.invalid_token"


def test_a_disabled_accounts_token_is_refused_on_its_next_request_and_its_principal_is_whole(
        client: FlaskClient, uow: UnitOfWork, demo: dict[str, int]) -> None:
    from subsidy_app.identity import accounts

    headers = bearer(client, "auditor.lishi")
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["username"] == "auditor.lishi" and "auditor" in me["roles"] and me["counties"] == ["141102"]
    admin = identity.load_principal(uow, account_id=demo["admin"])
    assert admin is not None
    accounts.set_active(uow, principal=admin, account_id=demo["auditor.lishi"], active=False)
    uow.commit()
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["reason"] == "auth.invalid_token"


def test_token_secret_is_not_stored_and_not_replayed(client: FlaskClient, demo: dict[str, int], uow) -> None:
    from sqlalchemy import select

    from subsidy_app.core.idempotency import IdempotencyRecord
    from subsidy_app.identity.models import ApiToken

    headers = bearer(client, "dealer.car")
    first = client.post("/api/v1/tokens", json={"name": "till"}, headers={**headers, "Idempotency-Key": "t-1"})
    replay = client.post("/api/v1/tokens", json={"name": "till"}, headers={**headers, "Idempotency-Key": "t-1"})
    secret = first.get_json()["token"]
    assert replay.get_json()["id"] == first.get_json()["id"]
    assert replay.get_json()["token"] != secret
    stored = uow.session.scalars(select(IdempotencyRecord.response_body)).all()
    assert all(secret not in (body or "") for body in stored)
    assert all(secret not in t.token_hash for t in uow.session.scalars(select(ApiToken)))


@pytest.mark.parametrize(
    ("username", "own_org_key", "other_org_key"),
    [
        ("dealer.car", "org:dealer:car", "org:dealer:appliance"),  # same county, other dealer
        ("dealer.car", "org:dealer:car", "org:dealer:xiaoyi"),  # other county
        ("dealer.xiaoyi", "org:dealer:xiaoyi", "org:dealer:car"),
        ("recycler.dismantler", "org:recycler:dismantler", "org:recycler:renewable"),
    ],
)
def test_clerk_token_reads_only_its_own_organisation(
    client: FlaskClient, demo: dict[str, int], username: str, own_org_key: str, other_org_key: str
) -> None:
    headers = bearer(client, username)
    assert client.get(f"/api/v1/organisations/{demo[own_org_key]}", headers=headers).status_code == 200
    other = client.get(f"/api/v1/organisations/{demo[other_org_key]}", headers=headers)
    assert other.status_code == 404
    listed = {o["id"] for o in client.get("/api/v1/organisations", headers=headers).get_json()}
    assert listed == {demo[own_org_key]}


def test_county_auditor_sees_only_their_county(client: FlaskClient, demo: dict[str, int]) -> None:
    headers = bearer(client, "auditor.lishi")
    assert client.get(f"/api/v1/organisations/{demo['org:dealer:car']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/organisations/{demo['org:dealer:xiaoyi']}", headers=headers).status_code == 404
    counties = {o["county_code"] for o in client.get("/api/v1/organisations", headers=headers).get_json()}
    assert counties == {"141102"}


def test_city_level_senior_auditor_sees_every_county(client: FlaskClient, demo: dict[str, int]) -> None:
    headers = bearer(client, "senior.city")
    assert client.get(f"/api/v1/organisations/{demo['org:dealer:xiaoyi']}", headers=headers).status_code == 200
    counties = {o["county_code"] for o in client.get("/api/v1/organisations", headers=headers).get_json()}
    assert len(counties) == 13


@pytest.mark.parametrize("username", ["dealer.car", "recycler.renewable", "auditor.lishi", "finance.city"])
def test_only_admins_create_accounts_and_organisations(client: FlaskClient, demo: dict[str, int],
                                                       username: str) -> None:
    headers = bearer(client, username)
    response = client.post("/api/v1/accounts", headers=headers, json={
        "organisation_id": demo["org:dealer:car"], "username": "intruder", "display_name": "x",
        "password": "long-enough-password", "roles": ["admin"]})
    assert response.status_code == 403
    assert response.get_json()["reason"] == "auth.forbidden"


def test_clerks_cannot_read_persons_and_see_them_masked(client: FlaskClient, demo: dict[str, int]) -> None:
    dealer = bearer(client, "dealer.car")
    created = client.post("/api/v1/persons", headers=dealer,
                          json={"name": "王小明", "id_number": "11010519491231002X", "phone": "13812345678"})
    assert created.status_code == 201
    assert created.get_json()["id_number"] == "1101**********002X"
    assert created.get_json()["name"] == "王**"
    person_id = created.get_json()["id"]
    assert client.get(f"/api/v1/persons/{person_id}", headers=dealer).status_code == 403
    auditor = bearer(client, "auditor.lishi")
    assert client.get(f"/api/v1/persons/{person_id}", headers=auditor).status_code == 404  # nothing in 141102 yet
    sale = client.post("/api/v1/car-sales", headers=dealer, json={
        "new_vin": vin(77), "invoice_number": "26140000000000000077", "invoice_date": "2026-06-01",
        "invoice_total": "150000.00", "new_vehicle_type": "nev", "nev_catalogue_ref": "2026-第3批",
        "buyer_name": "王小明", "buyer_id_number": "11010519491231002X"})
    assert sale.status_code == 201, sale.get_json()
    revealed = client.get(f"/api/v1/persons/{person_id}", headers=auditor).get_json()
    assert revealed["id_number"] == "11010519491231002X"
    assert revealed["revealed"] is True
    other_county = client.get(f"/api/v1/persons/{person_id}", headers=bearer(client, "auditor.xiaoyi"))
    assert other_county.status_code == 404 and "11010519491231002X" not in other_county.get_data(as_text=True)


def test_session_api_call_without_csrf_header_is_refused(client: FlaskClient, demo: dict[str, int]) -> None:
    csrf = login(client, "dealer.car")
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403
    assert refused.get_json()["reason"] == "auth.csrf"
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRFToken": csrf}).status_code == 201


def test_a_token_of_a_dealer_made_by_factories_sees_only_its_dealer(client: FlaskClient, demo: dict[str, int],
                                                                    factories: None, uow) -> None:
    from subsidy_app.identity.services import issue_api_token, principal_of
    from tests.factories import AccountFactory

    account = AccountFactory(organisation__county_code="141181")
    uow.commit()
    issued = issue_api_token(uow, principal=principal_of(account), account_id=account.id, name="pos")
    uow.commit()
    headers = {"Authorization": f"Bearer {issued.secret}"}
    listed = client.get("/api/v1/organisations", headers=headers).get_json()
    assert [o["id"] for o in listed] == [account.organisation_id]
    assert client.get(f"/api/v1/organisations/{demo['org:dealer:xiaoyi']}", headers=headers).status_code == 404


def test_audit_trail_is_listed_for_admins(client: FlaskClient, demo: dict[str, int]) -> None:
    response = client.get("/api/v1/audit/events?limit=5", headers=bearer(client, "admin"))
    assert response.status_code == 200, response.get_json()
    events = response.get_json()
    assert len(events) == 5 and all(e["hash"] for e in events)


def test_audit_trail_api_is_refused_to_county_staff_as_its_page_is(client: FlaskClient, uow: UnitOfWork,
                                                                   demo: dict[str, int]) -> None:
    # Events carry no county: a county admin or senior auditor would read every county's trail.
    for username, role in (("admin.xiaoyi", Role.ADMIN), ("senior.xiaoyi", Role.SENIOR_AUDITOR)):
        identity.create_account(uow, actor="t", organisation_id=demo["org:bureau:141181"], username=username,
                                display_name=username, password=DEMO_PASSWORD, roles=[role])
    uow.commit()
    for username in ("admin.xiaoyi", "senior.xiaoyi"):
        headers = {**bearer(client, username), "Idempotency-Key": f"audit-{username}"}
        events = client.get("/api/v1/audit/events?limit=5", headers=headers)
        assert events.status_code == 403 and reason_of(events) == "audit.city_only", username
    admin = {**bearer(client, "admin.xiaoyi"), "Idempotency-Key": "audit-checkpoint"}
    for response in (client.get("/api/v1/audit/verify", headers=admin),
                     client.post("/api/v1/audit/checkpoints", headers=admin)):
        assert response.status_code == 403 and reason_of(response) == "audit.city_only"
    assert client.get("/api/v1/audit/verify", headers=bearer(client, "admin")).status_code == 200
