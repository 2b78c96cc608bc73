"""The spot-check API and pages: roles, county scope (404), bad input naming the field, idempotent replay."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.core.uow import UnitOfWork
from subsidy_app.oversight.spot_models import SpotItem, SpotPlan
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.helpers import bearer, login

PLAN = {"programme": "appliance", "period_start": "2025-05-01", "period_end": "2025-05-31", "rate_percent": "100"}


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def sales(client: FlaskClient, uow: UnitOfWork, world) -> list[dict[str, Any]]:
    till = bearer(client, "dealer.appliance")
    found = []
    for n in range(3):
        status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, 60 + n), AC,
                                                    "3999.00", "2025-05-12"))
        assert status == 200, body
        found.append(body)
    return found


@pytest.fixture
def drawn(client: FlaskClient, sales) -> dict[str, Any]:
    senior = bearer(client, "senior.city")
    plan = client.post("/api/v1/oversight/spot-checks", json=PLAN, headers=senior).get_json()
    draw = client.post(f"/api/v1/oversight/spot-checks/{plan['id']}/draw", json={"seed": "s"}, headers=senior)
    assert draw.status_code == 200 and draw.get_json()["sampled"] == 3
    items = client.get(f"/api/v1/oversight/spot-checks/{plan['id']}/items", headers=senior).get_json()
    return {"plan": plan, "items": items["items"]}


def test_only_the_city_bureau_creates_and_draws_plans(client: FlaskClient, world) -> None:
    county = client.post("/api/v1/oversight/spot-checks", json=PLAN, headers=bearer(client, "auditor.lishi"))
    assert county.status_code == 403
    dealer = client.get("/api/v1/oversight/spot-checks", headers=bearer(client, "dealer.appliance"))
    assert dealer.status_code == 403
    created = client.post("/api/v1/oversight/spot-checks", json=PLAN, headers=bearer(client, "admin"))
    assert created.status_code == 201 and created.get_json()["state"] == "draft"
    draw = client.post(f"/api/v1/oversight/spot-checks/{created.get_json()['id']}/draw", json={},
                       headers=bearer(client, "auditor.lishi"))
    assert draw.status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"rate_percent": "abc"}, "rate_percent"), ({"rate_percent": "0"}, "rate_percent"),
    ({"rate_percent": "100.5"}, "rate_percent"), ({"programme": "boats"}, "programme"),
    ({"period_start": "2025-13-01"}, "period_start"), ({"period_end": "2025-04-01"}, "period_end"),
])
def test_a_bad_plan_is_refused_naming_the_field(client: FlaskClient, world, change, field) -> None:
    response = client.post("/api/v1/oversight/spot-checks", json={**PLAN, **change},
                           headers=bearer(client, "senior.city"))
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_a_county_auditor_sees_and_works_only_their_countys_items(client: FlaskClient, drawn) -> None:
    plan_id, item_id = drawn["plan"]["id"], drawn["items"][0]["id"]
    other = bearer(client, "auditor.xiaoyi")
    listed = client.get(f"/api/v1/oversight/spot-checks/{plan_id}/items", headers=other).get_json()
    assert listed == {"items": [], "total": 0}
    refused = client.post(f"/api/v1/oversight/spot-check-items/{item_id}/results", headers=other,
                          json={"task": "callback", "outcome": "confirmed"})
    assert refused.status_code == 404
    assert client.post(f"/api/v1/oversight/spot-check-items/{item_id}/conclusion", headers=other,
                       json={"conclusion": "genuine"}).status_code == 404
    own = bearer(client, "auditor.lishi")
    mine = client.get(f"/api/v1/oversight/spot-checks/{plan_id}/items?state=open&limit=2", headers=own).get_json()
    assert mine["total"] == 3 and len(mine["items"]) == 2
    done = client.post(f"/api/v1/oversight/spot-check-items/{item_id}/results", headers=own,
                       json={"task": "callback", "outcome": "confirmed"})
    assert done.status_code == 200 and done.get_json()["outcome"] == "confirmed"
    false = client.post(f"/api/v1/oversight/spot-check-items/{item_id}/conclusion", headers=own,
                        json={"conclusion": "false", "reason": "x"})
    assert false.status_code == 403  # a county auditor may not find a trade-in false


@pytest.mark.parametrize(("body", "field"), [
    ({"task": "phone", "outcome": "confirmed"}, "task"), ({"task": "callback", "outcome": "maybe"}, "outcome"),
    ({"task": "documents", "outcome": "confirmed"}, "outcome"), ({"task": "callback", "outcome": "other"}, "note"),
])
def test_a_bad_result_is_refused_naming_the_field(client: FlaskClient, drawn, body, field) -> None:
    response = client.post(f"/api/v1/oversight/spot-check-items/{drawn['items'][0]['id']}/results", json=body,
                           headers=bearer(client, "auditor.lishi"))
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_a_repeated_request_with_its_idempotency_key_replays_the_first_answer(client: FlaskClient, uow,
                                                                               drawn) -> None:
    senior = bearer(client, "senior.city")
    key = {**senior, "Idempotency-Key": "plan-once"}
    first = client.post("/api/v1/oversight/spot-checks", json=PLAN, headers=key)
    again = client.post("/api/v1/oversight/spot-checks", json=PLAN, headers=key)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert uow.session.scalar(select(func.count()).select_from(SpotPlan)) == 2  # the fixture's and this one
    item_id = drawn["items"][0]["id"]
    client.post(f"/api/v1/oversight/spot-check-items/{item_id}/results", headers=senior,
                json={"task": "callback", "outcome": "denies_purchase"})
    conclude = {**senior, "Idempotency-Key": "conclude-once"}
    body = {"conclusion": "false", "reason": "否认购买"}
    one = client.post(f"/api/v1/oversight/spot-check-items/{item_id}/conclusion", json=body, headers=conclude)
    two = client.post(f"/api/v1/oversight/spot-check-items/{item_id}/conclusion", json=body, headers=conclude)
    assert one.status_code == two.status_code == 200 and one.get_json() == two.get_json()
    assert one.get_json()["clawed_back"] == "799.80"
    fresh = client.post(f"/api/v1/oversight/spot-check-items/{item_id}/conclusion", json=body, headers=senior)
    assert fresh.status_code == 409 and fresh.get_json()["reason"] == "spot.already_concluded"
    rollup = client.get(f"/api/v1/oversight/spot-checks/{drawn['plan']['id']}/rollup", headers=senior).get_json()
    assert (rollup["total"]["sampled"], rollup["total"]["false"], rollup["total"]["clawed_back"]) == (3, 1, "799.80")
    assert rollup["total"]["rate_sampled"] == "100.00"


def test_the_pages_take_the_city_through_a_plan_and_the_county_through_its_items(client: FlaskClient, uow,
                                                                                  sales) -> None:
    csrf = login(client, "senior.city")
    listing = client.get("/bureau/spot-checks").get_data(as_text=True)
    assert 'id="plan-form"' in listing and "抽查核验计划" in listing
    bad = client.post("/bureau/spot-checks", data={"csrf_token": csrf, "programme": "appliance",
                                                   "period_start": "2025-05-31", "period_end": "2025-05-01",
                                                   "rate_percent": "x"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="period_end-error"' in body and 'id="rate_percent-error"' in body
    made = client.post("/bureau/spot-checks", data={"csrf_token": csrf, **PLAN})
    assert made.status_code == 302
    plan_id = uow.session.scalar(select(func.max(SpotPlan.id)))
    assert 'id="draw-form"' in client.get(f"/bureau/spot-checks/{plan_id}").get_data(as_text=True)
    assert client.post(f"/bureau/spot-checks/{plan_id}/draw", data={"csrf_token": csrf, "seed": "页面种子"}
                       ).status_code == 302
    page = client.get(f"/bureau/spot-checks/{plan_id}").get_data(as_text=True)
    assert "页面种子" in page and 'id="chart-dealers"' in page and 'id="table-counties"' in page
    assert page.count('data-state="open"') == 3
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "auditor.lishi")
    tasks = client.get("/bureau/spot-tasks").get_data(as_text=True)
    assert tasks.count('data-state="open"') == 3 and 'id="nav-spot-tasks"' in tasks
    item_id = uow.session.scalar(select(func.min(SpotItem.id)).where(SpotItem.plan_id == plan_id))
    item_page = client.get(f"/bureau/spot-checks/items/{item_id}").get_data(as_text=True)
    assert 'id="form-callback"' in item_page and 'id="conclusion-false"' not in item_page and "*" in item_page
    no_note = client.post(f"/bureau/spot-checks/items/{item_id}/results",
                          data={"csrf_token": csrf, "task": "callback", "outcome": "other"})
    assert no_note.status_code == 422 and 'id="note-error"' in no_note.get_data(as_text=True)
    assert client.post(f"/bureau/spot-checks/items/{item_id}/results",
                       data={"csrf_token": csrf, "task": "callback", "outcome": "confirmed"}).status_code == 302
    assert client.post(f"/bureau/spot-checks/items/{item_id}/conclusion",
                       data={"csrf_token": csrf, "conclusion": "genuine"}).status_code == 302
    assert "属实" in client.get(f"/bureau/spot-checks/items/{item_id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "auditor.xiaoyi")
    assert client.get(f"/bureau/spot-checks/items/{item_id}").status_code == 404


def test_the_api_counts_unanswered_calls_against_the_configured_attempts(database_url, session_factory, uow,
                                                                         drawn) -> None:
    from subsidy_app.app import create_app
    from tests.conftest import _settings_dict, make_settings

    once = create_app({**_settings_dict(make_settings(database_url, spot_check_call_attempts=1)),
                       "session_factory": session_factory}).test_client()
    answer = once.post(f"/api/v1/oversight/spot-check-items/{drawn['items'][0]['id']}/results",
                       headers=bearer(once, "auditor.lishi"), json={"task": "callback", "outcome": "no_answer"})
    assert answer.status_code == 200
    assert (answer.get_json()["state"], answer.get_json()["outcome"]) == ("done", "unreachable")
