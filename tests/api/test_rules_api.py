"""Rules over HTTP: public quotes with reasons, version listing and diff, budget pools by scope."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules import services
from subsidy_app.rules.ruleset import DATA_DIR
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer, csrf_token


@pytest.fixture
def rules(uow: UnitOfWork) -> None:
    services.publish_rule_files(uow, actor="t", paths=sorted(DATA_DIR.glob("*.yaml")))
    uow.commit()


CAR_2025 = {"programme": "car_scrap", "category": "passenger_car", "purchase_date": "2025-06-01",
            "price": "150000.00", "new_vehicle_type": "nev", "old_vehicle_fuel": "petrol",
            "old_vehicle_first_registration": "2012-06-30", "old_vehicle_owner_since": "2020-01-01"}


def test_anonymous_quote_explains_each_condition(client: FlaskClient, rules: None) -> None:
    body = client.post("/api/v1/quotes", json=CAR_2025).get_json()
    assert body["eligible"] is True
    assert Decimal(body["amount"]) == Decimal("20000.00")
    assert body["version_code"] == "car_scrap-2025"
    clauses = {c["clause"]: c for c in body["conditions"]}
    assert clauses["old_vehicle.first_registration"]["passed"] is True
    assert all(c["explanation_zh"] and c["explanation_en"] for c in body["conditions"])
    assert body["required_documents"]


def test_quote_names_the_failing_clause_in_both_languages(client: FlaskClient, rules: None) -> None:
    body = client.post("/api/v1/quotes", json={**CAR_2025, "old_vehicle_first_registration": "2012-07-01"}
                       ).get_json()
    assert body["eligible"] is False
    assert Decimal(body["amount"]) == 0
    failed = [c for c in body["conditions"] if not c["passed"]]
    assert [c["clause"] for c in failed] == ["old_vehicle.first_registration"]
    assert "2012-07-01" in failed[0]["explanation_zh"] and "2012-06-30" in failed[0]["explanation_en"]


def test_quote_for_a_date_no_version_covers_is_422_on_purchase_date(client: FlaskClient, rules: None) -> None:
    response = client.post("/api/v1/quotes", json={**CAR_2025, "purchase_date": "2023-05-01"})
    assert response.status_code == 422
    assert "purchase_date" in response.get_json()["errors"]


def test_quote_with_bad_fields_is_422_naming_them(client: FlaskClient, rules: None) -> None:
    response = client.post("/api/v1/quotes", json={"programme": "yachts", "purchase_date": "soon"})
    assert response.status_code == 422
    assert {"programme", "purchase_date"} <= set(response.get_json()["errors"])


def test_resident_quote_reports_remaining_quota(client: FlaskClient, rules: None, uow: UnitOfWork) -> None:
    from subsidy_app.identity.persons import register_person
    from subsidy_app.rules import quotas
    from subsidy_app.rules.domain import LimitPeriod, QuotaKey

    person = register_person(uow, actor="t", name="孙七", id_number="11010519491231002X")
    key = QuotaKey("appliance", "air_conditioner", LimitPeriod.VERSION, "appliance-2025", 3)
    quotas.hold_quota(uow, person_id=person, key=key, reference="ac-1", actor="t")
    uow.commit()
    with client.session_transaction() as session:
        session["resident_person_id"] = person
    quote = {"programme": "appliance", "category": "air_conditioner", "purchase_date": "2025-07-01",
             "price": "4000.00", "energy_grade": 1}
    assert client.post("/api/v1/quotes", json=quote).get_json()["reason"] == "auth.csrf"  # cookie → CSRF
    body = client.post("/api/v1/quotes", json=quote, headers={"X-CSRFToken": csrf_token(client, "/")}).get_json()
    assert body["quota"] == {"category": "air_conditioner", "period_key": "appliance-2025", "max_count": 3,
                             "used": 1, "remaining": 2}


def test_public_quotes_are_rate_limited(database_url: str, session_factory, rules: None) -> None:
    from subsidy_app.app import create_app

    settings = make_settings(database_url, rate_limits=True, quote_rate_limit="3 per minute")
    limited: Flask = create_app({**_settings_dict(settings), "session_factory": session_factory})
    client = limited.test_client()
    codes = [client.post("/api/v1/quotes", json=CAR_2025).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.post("/api/v1/quotes", json=CAR_2025).get_json()["reason"] == "rate_limited"


def test_versions_are_listed_and_diffed(client: FlaskClient, rules: None) -> None:
    listed = client.get("/api/v1/rule-versions").get_json()
    assert {"car_scrap-2024", "car_scrap-2025", "car_scrap-2026", "appliance-2026"} <= {v["code"] for v in listed}
    diff = client.get("/api/v1/rule-versions/diff?from=appliance-2025&to=appliance-2026").get_json()
    paths = {c["path"] for c in diff["changes"]}
    assert any("categor" in p for p in paths)
    assert client.get("/api/v1/rule-versions/nope").status_code == 404


def _open_pool(client: FlaskClient, admin: dict[str, str], county: str) -> int:
    created = client.post("/api/v1/budget-pools", headers=admin,
                          json={"programme": "appliance", "county_code": county, "name": "2026"})
    assert created.status_code == 201, created.get_json()
    return int(created.get_json()["id"])


def test_pools_are_created_funded_and_scoped(client: FlaskClient, demo: dict[str, int]) -> None:
    admin = bearer(client, "admin")
    lishi = _open_pool(client, admin, "141102")
    xiaoyi = _open_pool(client, admin, "141181")
    finance, admin_officer = bearer(client, "finance.city"), bearer(client, "admin")
    made = client.post(f"/api/v1/budget-pools/{lishi}/proposals", headers=finance,
                       json={"kind": "top_up", "amount": "5000.00", "source": "provincial", "reason": "省级资金下达"})
    assert made.status_code == 201 and made.get_json()["state"] == "proposed", made.get_json()
    proposal = made.get_json()["id"]
    pool = client.get(f"/api/v1/budget-pools/{lishi}", headers=finance).get_json()
    assert Decimal(pool["remaining"]) == 0  # a proposal moves no money
    # The maker cannot approve their own proposal; another officer can, once.
    own = client.post(f"/api/v1/budget-proposals/{proposal}/approval", headers=finance)
    assert own.status_code == 403 and own.get_json()["reason"] == "budget.own_proposal"
    approved = client.post(f"/api/v1/budget-proposals/{proposal}/approval", headers=admin_officer)
    assert approved.status_code == 201 and approved.get_json()["proposal"]["state"] == "approved"
    again = client.post(f"/api/v1/budget-proposals/{proposal}/approval", headers=admin_officer)
    assert again.status_code == 409 and again.get_json()["reason"] == "budget.proposal_decided"
    pool = client.get(f"/api/v1/budget-pools/{lishi}", headers=finance).get_json()
    assert Decimal(pool["remaining"]) == Decimal("5000.00")
    listed = client.get(f"/api/v1/budget-pools/{lishi}/proposals", headers=finance).get_json()
    assert listed["total"] == 1 and listed["items"][0]["decided_by"]
    refused = client.post(f"/api/v1/budget-pools/{lishi}/proposals", headers=finance,
                          json={"kind": "top_up", "amount": "1.00", "source": "city", "reason": "多余"}).get_json()
    rejected = client.post(f"/api/v1/budget-proposals/{refused['id']}/rejection", headers=admin_officer,
                           json={"note": "无此预算"})
    assert rejected.status_code == 201 and rejected.get_json()["state"] == "rejected"
    auditor = bearer(client, "auditor.lishi")
    assert {p["id"] for p in client.get("/api/v1/budget-pools", headers=auditor).get_json()} == {lishi}
    assert client.get(f"/api/v1/budget-pools/{xiaoyi}", headers=auditor).status_code == 404
    assert client.post(f"/api/v1/budget-pools/{lishi}/proposals", headers=auditor, json={}).status_code == 403
    dealer = bearer(client, "dealer.car")
    assert client.get("/api/v1/budget-pools", headers=dealer).status_code == 403
    bad = client.post(f"/api/v1/budget-pools/{lishi}/proposals", headers=finance,
                      json={"kind": "top_up", "amount": "-5", "source": "lottery", "reason": ""})
    assert bad.status_code == 422 and {"amount", "source", "reason"} <= set(bad.get_json()["errors"])
    no_source = client.post(f"/api/v1/budget-pools/{lishi}/proposals", headers=finance,
                            json={"kind": "top_up", "amount": "5", "reason": "缺来源"})
    assert no_source.status_code == 422 and "source" in no_source.get_json()["errors"]


def test_budget_show_command(app: Flask, uow: UnitOfWork) -> None:
    from subsidy_app.identity.services import ensure_counties
    from subsidy_app.rules import budget

    ensure_counties(uow)
    pool = budget.create_pool(uow, actor="t", programme="digital", county_code="141124", name="2026")
    budget.allocate(uow, actor="t", pool_id=pool, amount=Decimal("1234.00"), source="city")
    uow.commit()
    result = app.test_cli_runner().invoke(args=["budget", "show"])
    assert result.exit_code == 0 and "1234.00" in result.output
