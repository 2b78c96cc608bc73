"""Spot checks on a real database: a reproducible audited draw, tasks and conclusions, and the revoke paths
(a false instant sale is deducted once by the dealer's next statement; a false application is revoked)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications import review
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import Application, Clawback
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, Forbidden, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.oversight import spot_queries, spot_services
from subsidy_app.oversight.spot_models import SpotItem, SpotPlan
from subsidy_app.rules.models import BudgetPool
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import car_world, pay_over_http, submit
from tests.helpers import bearer

MAY, JUNE, JULY = ("2025-05-01", "2025-05-31"), ("2025-06-01", "2025-06-30"), ("2025-07-01", "2025-07-31")


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(client: FlaskClient, world) -> dict[str, str]:
    return bearer(client, "dealer.appliance")


def who(uow: UnitOfWork, demo: dict[str, int], name: str) -> Any:
    principal = load_principal(uow, account_id=demo[name])
    assert principal is not None
    return principal


def _sale(client, uow, world, till, buyer: int, price: str = "3999.00", sold_on: str = "2025-05-10") -> dict:
    status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, buyer), AC, price,
                                                sold_on))
    assert status == 200 and body["eligible"], body
    return body


def _statement(client, world, till, period: tuple[str, str]) -> dict[str, Any]:
    response = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": period[0],
        "period_end": period[1]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _plan(uow, demo, *, programme: str = "appliance", period=MAY, rate: str = "100", seed: str | None = "seed-1"
          ) -> tuple[int, spot_services.Drawn]:
    import datetime as dt

    senior = who(uow, demo, "senior.city")
    plan_id = spot_services.create_plan(uow, principal=senior, programme=programme,
                                        period_start=dt.date.fromisoformat(str(period[0])),
                                        period_end=dt.date.fromisoformat(str(period[1])), rate_percent=rate)
    drawn = spot_services.draw_plan(uow, principal=senior, plan_id=plan_id, seed=seed)
    uow.commit()
    return plan_id, drawn


def _item(uow, plan_id: int, number: str) -> SpotItem:
    item = uow.session.scalar(select(SpotItem).where(SpotItem.plan_id == plan_id,
                                                     SpotItem.subject_number == number))
    assert item is not None
    return item


def _find_false(uow, demo, item_id: int, *, task: str = "callback", outcome: str = "denies_purchase"
                ) -> spot_services.Concluded:
    spot_services.record_result(uow, principal=who(uow, demo, "auditor.lishi"), item_id=item_id, task=task,
                                outcome=outcome)
    done = spot_services.conclude(uow, principal=who(uow, demo, "senior.city"), item_id=item_id,
                                  conclusion="false", reason="购买人否认购买")
    uow.commit()
    return done


def test_the_city_draws_a_reproducible_audited_sample_plus_every_flagged_sale(client, uow, world, till,
                                                                             demo) -> None:
    plain = [_sale(client, uow, world, till, 10 + n) for n in range(10)]
    flagged = [_sale(client, uow, world, till, 30 + n, price="5000.00") for n in range(2)]  # above the margin
    _sale(client, uow, world, till, 40, sold_on="2025-06-02")  # outside the period
    plan_id, drawn = _plan(uow, demo, rate="5", seed="公开-2025-05")
    assert (drawn.seed, drawn.population) == ("公开-2025-05", 12)
    items = list(uow.session.scalars(select(SpotItem).where(SpotItem.plan_id == plan_id)))
    reasons = {i.subject_number: i.reason for i in items}
    assert {s["number"] for s in flagged} <= set(reasons)  # every flagged sale, whatever chance drew
    assert sum(r == "random" for r in reasons.values()) == 1  # 5 % of 12, rounded half up, at least 1
    assert set(reasons) <= {s["number"] for s in plain + flagged} and drawn.sampled == len(items)
    [event] = [e for e in audit.list_events(uow.session, entity_type="spot_plan") if e.action == "spot_plan.drawn"]
    assert event.summary["after"]["seed"] == "公开-2025-05" and event.summary["after"]["population"] == 12
    assert event.summary["after"]["sampled"] == len(items)
    # The recorded seed redraws the same sample over the same population.
    again_id, again = _plan(uow, demo, rate="5", seed="公开-2025-05")
    again_items = uow.session.scalars(select(SpotItem.subject_number).where(SpotItem.plan_id == again_id))
    assert sorted(again_items) == sorted(reasons) and again.sampled == drawn.sampled


def test_a_draw_without_a_seed_records_a_generated_one_and_a_plan_is_drawn_once(client, uow, world, till,
                                                                               demo) -> None:
    _sale(client, uow, world, till, 11)
    plan_id, drawn = _plan(uow, demo, seed=None)
    assert len(drawn.seed) == 32 and uow.session.get(SpotPlan, plan_id).seed == drawn.seed
    with pytest.raises(Conflict) as refused:
        spot_services.draw_plan(uow, principal=who(uow, demo, "senior.city"), plan_id=plan_id)
    assert refused.value.reason == "spot.already_drawn"


def test_only_the_city_bureau_makes_plans_and_bad_input_names_every_field(uow, demo) -> None:
    import datetime as dt

    with pytest.raises(Forbidden) as refused:
        spot_services.create_plan(uow, principal=who(uow, demo, "auditor.lishi"), programme="appliance",
                                  period_start=dt.date(2025, 5, 1), period_end=dt.date(2025, 5, 31), rate_percent="5")
    assert refused.value.reason == "spot.city_only"
    with pytest.raises(ValidationFailed) as bad:
        spot_services.create_plan(uow, principal=who(uow, demo, "admin"), programme="boats",
                                  period_start=dt.date(2025, 5, 31), period_end=dt.date(2025, 5, 1),
                                  rate_percent="150")
    assert set(bad.value.errors) == {"programme", "period_end", "rate_percent"}


def test_a_false_sale_on_a_statement_is_deducted_once_by_the_next_statement(client, uow, world, till, demo) -> None:
    first = _sale(client, uow, world, till, 12)  # 799.80
    _sale(client, uow, world, till, 13)
    may = _statement(client, world, till, MAY)
    plan_id, _drawn = _plan(uow, demo)
    done = _find_false(uow, demo, _item(uow, plan_id, first["number"]).id)
    assert (done.state, done.clawed_back) == ("false", Decimal("799.80"))
    sale = uow.session.get(ApplianceSale, first["sale_id"])
    uow.session.refresh(sale)
    assert sale.state == "revoked" and sale.statement_id == may["application_id"]
    _sale(client, uow, world, till, 14, price="5000.00", sold_on="2025-06-10")
    june = _statement(client, world, till, JUNE)
    assert (june["clawback"], june["sales"]) == ("799.80", 1)
    lines = client.get(f"/api/v1/appliance-settlements/{june['application_id']}", headers=till).get_json()["lines"]
    assert [(line["number"], line["kind"], line["clawback_reason"]) for line in lines if line["kind"] == "clawback"] \
        == [(first["number"], "clawback", "spot_check")]
    facts = uow.session.get(Application, june["application_id"]).facts
    assert facts["revoked_refs"] == [first["number"]] == facts["clawback_refs"]
    dealer_page = client.get(f"/dealer/appliances/settlements/{june['application_id']}", headers=till)
    assert dealer_page.status_code == 200 and "抽查撤销扣回" in dealer_page.get_data(as_text=True)
    reviewer = client.get(f"/review/{june['application_id']}", headers=bearer(client, "auditor.lishi"))
    assert reviewer.status_code == 200 and f"抽查撤销:{first['number']}" in reviewer.get_data(as_text=True)
    _sale(client, uow, world, till, 15, sold_on="2025-07-10")
    july = _statement(client, world, till, JULY)
    assert july["clawback"] == "0.00"  # deducted exactly once


def test_a_false_sale_not_yet_on_a_statement_leaves_the_pool_and_never_goes_on_one(client, uow, world, till,
                                                                                   demo) -> None:
    first = _sale(client, uow, world, till, 16)
    second = _sale(client, uow, world, till, 17)
    pool = uow.session.get(BudgetPool, world.pools["appliance"])
    uow.session.refresh(pool)
    reserved = pool.reserved
    plan_id, _drawn = _plan(uow, demo)
    _find_false(uow, demo, _item(uow, plan_id, first["number"]).id, task="site_visit", outcome="not_found")
    uow.session.refresh(pool)
    assert pool.reserved == reserved - Decimal("799.80")
    # The dealer's sales list counts the revoked sale's subsidy only under its own state, as it does a return.
    from subsidy_app.appliances import dealer_queries

    dealer = who(uow, demo, "dealer.appliance")
    day = dt.date(2025, 5, 10)
    listed = dealer_queries.list_sales(uow, principal=dealer, date_from=day - dt.timedelta(days=30), date_to=day)
    assert listed.subsidy == Decimal("799.80")  # the second sale only
    revoked = dealer_queries.list_sales(uow, principal=dealer, date_from=day - dt.timedelta(days=30), date_to=day,
                                        state="revoked")
    assert revoked.total == 1 and revoked.subsidy == Decimal("799.80")
    may = _statement(client, world, till, MAY)
    assert (may["sales"], may["clawback"]) == (1, "0.00")
    assert uow.session.get(Application, may["application_id"]).facts["sale_refs"] == [second["number"]]


def test_an_item_is_concluded_once_and_false_needs_a_senior_auditor_and_a_reason(client, uow, world, till,
                                                                                demo) -> None:
    first = _sale(client, uow, world, till, 18)
    plan_id, _drawn = _plan(uow, demo)
    item_id = _item(uow, plan_id, first["number"]).id
    auditor = who(uow, demo, "auditor.lishi")
    spot_services.record_result(uow, principal=auditor, item_id=item_id, task="documents", outcome="inconsistent")
    with pytest.raises(Forbidden) as refused:
        spot_services.conclude(uow, principal=auditor, item_id=item_id, conclusion="false", reason="资料不一致")
    assert refused.value.reason == "spot.needs_senior"
    with pytest.raises(ValidationFailed) as bad:
        spot_services.conclude(uow, principal=who(uow, demo, "senior.city"), item_id=item_id, conclusion="false")
    assert set(bad.value.errors) == {"reason"}
    with pytest.raises(Conflict) as not_yet:
        spot_services.conclude(uow, principal=auditor, item_id=item_id, conclusion="genuine")
    assert not_yet.value.reason == "spot.not_concludable"
    spot_services.conclude(uow, principal=who(uow, demo, "admin"), item_id=item_id, conclusion="false",
                           reason="发票与销售记录不一致")
    with pytest.raises(Conflict) as twice:
        spot_services.conclude(uow, principal=who(uow, demo, "admin"), item_id=item_id, conclusion="false",
                               reason="again")
    assert twice.value.reason == "spot.already_concluded"
    plan = uow.session.get(SpotPlan, plan_id)
    uow.session.refresh(plan)
    assert plan.state == "closed"  # its only item is concluded


def test_a_call_back_becomes_unreachable_after_the_allowed_unanswered_calls(client, uow, world, till, demo) -> None:
    first = _sale(client, uow, world, till, 19)
    plan_id, _drawn = _plan(uow, demo)
    item_id = _item(uow, plan_id, first["number"]).id
    auditor = who(uow, demo, "auditor.lishi")
    outcomes = [spot_services.record_result(uow, principal=auditor, item_id=item_id, task="callback",
                                            outcome="no_answer", attempts_allowed=3) for _ in range(3)]
    assert [(o.state, o.outcome, o.attempts) for o in outcomes] == [
        ("open", None, 1), ("open", None, 2), ("done", "unreachable", 3)]
    with pytest.raises(Conflict) as done:
        spot_services.record_result(uow, principal=auditor, item_id=item_id, task="callback", outcome="confirmed")
    assert done.value.reason == "spot.task_done"
    with pytest.raises(ValidationFailed) as bad:
        spot_services.record_result(uow, principal=auditor, item_id=item_id, task="site_visit", outcome="other")
    assert set(bad.value.errors) == {"outcome"}
    spot_services.record_result(uow, principal=auditor, item_id=item_id, task="site_visit", outcome="found")
    assert spot_services.conclude(uow, principal=auditor, item_id=item_id, conclusion="genuine").state == "genuine"
    detail = spot_queries.item_detail(uow, principal=auditor, item_id=item_id)
    assert [len(t.results) for t in detail.tasks] == [3, 0, 1] and "*" in detail.resident_name


def test_a_false_application_is_revoked_through_the_transition_a_paid_one_with_its_clawback(
        client, uow, demo) -> None:
    world = car_world(uow, demo)
    done = submit(uow, world)
    pay_over_http(client, done.application_id, done.number)
    today = business_date()
    plan_id, drawn = _plan(uow, demo, programme="car_scrap", period=(today, today), rate="5")
    assert drawn.population == 1 and drawn.sampled == 1  # at least one of a stratum of one
    item = _item(uow, plan_id, done.number)
    assert item.subject_kind == "application"
    result = _find_false(uow, demo, item.id, task="documents", outcome="inconsistent")
    app = uow.session.get(Application, done.application_id)
    uow.session.refresh(app)
    assert app.state == "revoked" and result.clawed_back == app.amount
    clawback = uow.session.scalar(select(Clawback).where(Clawback.application_id == app.id))
    assert clawback is not None and clawback.amount == app.amount
    newest = audit.list_events(uow.session, entity_type="application", entity_id=str(app.id), limit=1)
    assert [e.action for e in newest] == ["application.revoke"]
    detail = spot_queries.item_detail(uow, principal=who(uow, demo, "auditor.lishi"), item_id=item.id)
    assert (detail.product_label, detail.product, detail.subject_state) == ("新车车辆识别代号", world.new_vin, "已撤销")


def test_a_false_approved_application_releases_its_budget(uow, demo) -> None:
    world = car_world(uow, demo)
    done = submit(uow, world)
    review.review(uow, principal=who(uow, demo, "auditor.lishi"), application_id=done.application_id,
                  action=Action.APPROVE)
    uow.commit()
    pool = uow.session.get(BudgetPool, world.pool_id)
    uow.session.refresh(pool)
    assert pool.reserved > 0
    today = business_date()
    plan_id, _drawn = _plan(uow, demo, programme="car_scrap", period=(today, today))
    _find_false(uow, demo, _item(uow, plan_id, done.number).id)
    uow.session.refresh(pool)
    assert pool.reserved == Decimal("0.00")


def test_the_rollup_counts_each_dealer_and_county_and_the_chain_verifies(client, uow, world, till, demo) -> None:
    sales = [_sale(client, uow, world, till, 50 + n) for n in range(4)]
    _statement(client, world, till, MAY)
    plan_id, _drawn = _plan(uow, demo, rate="50")
    items = list(uow.session.scalars(select(SpotItem).where(SpotItem.plan_id == plan_id)))
    assert len(items) == 2 and all(i.reason == "random" for i in items)
    auditor = who(uow, demo, "auditor.lishi")
    spot_services.record_result(uow, principal=auditor, item_id=items[0].id, task="callback", outcome="confirmed")
    spot_services.conclude(uow, principal=auditor, item_id=items[0].id, conclusion="genuine")
    _find_false(uow, demo, items[1].id)
    figures = spot_queries.rollup(uow, principal=who(uow, demo, "senior.city"), plan_id=plan_id)
    [dealer] = figures.dealers
    [county] = figures.counties
    for row in (dealer, county, figures.total):
        assert (row.population, row.sampled, row.done, row.confirmed, row.false) == (4, 2, 2, 1, 1)
        assert (row.rate_sampled, row.rate_confirmed, row.clawed_back) == (Decimal("50.00"), Decimal("50.00"),
                                                                           Decimal("799.80"))
    other = spot_queries.rollup(uow, principal=who(uow, demo, "auditor.xiaoyi"), plan_id=plan_id)
    assert other.dealers == [] and other.total.sampled == 0  # another county's auditor sees none of it
    assert len(sales) == 4
    actions = {e.action for e in audit.list_events(uow.session, limit=1000)}
    assert {"spot_plan.created", "spot_plan.drawn", "spot_item.sampled", "spot_task.recorded",
            "spot_item.concluded", "spot_plan.closed", "appliance_sale.revoked"} <= actions
    checked, broken = audit.verify_chain(uow.session)
    assert broken is None and checked > 0
