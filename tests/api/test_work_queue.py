"""The reviewers' work queue: filters, search, sort, pages, counts per state, deadlines, assignment, detail links."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.app import create_app
from subsidy_app.appliances import claims
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications.models import Application, ApplicationCheck
from subsidy_app.audit.models import AuditEvent
from subsidy_app.config import ConfigError, load_settings
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.rules.services import VersionCache
from tests.appliance_fixtures import FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import bank_card, car_world, resident_id, submit
from tests.conftest import _settings_dict, make_settings
from tests.helpers import bearer, login, statements_starting


def owner(serial: int) -> str:
    """A buyer of her own for each car: one car trade-in per person and year."""
    return resident_id(f"14110219800101{serial:03d}")


def _pending(uow: UnitOfWork, demo: dict[str, int], serial: int, **world: Any) -> Application:
    world.setdefault("owner_id", owner(serial))
    done = submit(uow, car_world(uow, demo, serial=serial, **world), card=bank_card(600 + serial))
    found = uow.session.get(Application, done.application_id)
    assert found is not None
    return found


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', page)]


def test_search_by_number_vin_invoice_and_id_tail_and_filter_by_failed_check(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    first, second = _pending(uow, demo, 1), _pending(uow, demo, 2)
    failing = _pending(uow, demo, 3, deregistered=False)
    login(client, "auditor.lishi")

    def found(**args: str) -> list[int]:
        response = client.get("/review", query_string={"state": "all", **args})
        assert response.status_code == 200
        return _ids(response.get_data(as_text=True))

    assert found() == [first.id, second.id, failing.id]  # oldest first
    assert found(q=second.number) == [second.id]
    assert found(q=second.number[:6].lower()) == [first.id, second.id, failing.id]  # the start of a number
    assert found(q=second.new_vin.lower()) == [second.id]  # a VIN typed in lower case
    assert found(q=str(first.old_vin)) == [first.id]
    assert found(q="25140000000000000002") == [second.id]  # the car's invoice number
    assert found(q=owner(3)[-4:]) == [failing.id]  # the tail of the buyer's ID (the masked form keeps 4)
    assert found(q=owner(3)) == [failing.id]  # a whole ID number, matched by its keyed hash
    assert found(q=owner(3)[-6:]) == []  # a longer tail is not kept in clear: not searchable
    assert found(q="无此编号") == []
    assert found(failed_check="registry") == [failing.id]
    assert found(failed_check="registry.deregistered") == [failing.id]
    assert found(failed_check="bank_card.own") == []
    assert found(sort="newest") == [failing.id, second.id, first.id]


def test_counts_per_state_come_from_one_grouped_query_under_the_same_filters(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    apps = [_pending(uow, demo, i) for i in (1, 2, 3)]
    uow.session.execute(update(Application).where(Application.id == apps[0].id).values(state="returned"))
    uow.commit()
    login(client, "auditor.lishi")
    page = client.get("/review").get_data(as_text=True)
    counts = dict(re.findall(r'data-state="([a-z_]+)"[^>]*>[^<]*<strong>(\d+)</strong>', page))
    assert (counts["pending_review"], counts["returned"], counts["all"]) == ("2", "1", "3")
    assert _ids(page) == [apps[1].id, apps[2].id]  # the default queue: pending review
    narrowed = client.get("/review", query_string={"q": apps[0].number}).get_data(as_text=True)
    counts = dict(re.findall(r'data-state="([a-z_]+)"[^>]*>[^<]*<strong>(\d+)</strong>', narrowed))
    assert (counts["pending_review"], counts["returned"]) == ("0", "1")


def test_age_and_the_configured_deadline_mark_overdue_items(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork, database_url: str,
        session_factory: sessionmaker[Session]) -> None:
    old, fresh = _pending(uow, demo, 1), _pending(uow, demo, 2)
    now = dt.datetime.now(dt.UTC)
    uow.session.execute(update(Application).where(Application.id == old.id)
                        .values(submitted_at=now - dt.timedelta(days=16)))
    uow.session.execute(update(Application).where(Application.id == fresh.id)
                        .values(submitted_at=now - dt.timedelta(days=3)))
    uow.commit()
    login(client, "auditor.lishi")
    page = client.get("/review").get_data(as_text=True)
    row = re.search(rf'<tr data-id="{old.id}" class="overdue">.*?</tr>', page, re.S)
    assert row and "16 天" in row.group(0) and "已超期(时限 15 天)" in row.group(0)
    assert f'<tr data-id="{fresh.id}">' in page  # three days old: not overdue
    assert _ids(client.get("/review?overdue=1").get_data(as_text=True)) == [old.id]
    # A programme's own deadline (REVIEW_DEADLINE_BY_PROGRAMME): two days make the three-day-old one late too.
    strict = create_app({**_settings_dict(make_settings(database_url, review_deadline_by_programme={"car_scrap": 2})),
                         "session_factory": session_factory}).test_client()
    login(strict, "auditor.lishi")
    page = strict.get("/review?overdue=1").get_data(as_text=True)
    assert _ids(page) == [old.id, fresh.id] and "汽车报废更新 2 天" in page


def test_review_deadlines_are_read_from_the_environment() -> None:
    settings = load_settings({"REVIEW_DEADLINE_DAYS": "20",
                              "REVIEW_DEADLINE_BY_PROGRAMME": "appliance=10, car_scrap=30"})
    assert (settings.review_deadline_days, settings.review_deadline_by_programme) == (
        20, {"appliance": 10, "car_scrap": 30})
    assert load_settings({}).review_deadline_days is None  # unset: the rule versions' own limits apply
    for bad in ({"REVIEW_DEADLINE_DAYS": "0"}, {"REVIEW_DEADLINE_BY_PROGRAMME": "car_scrap"},
                {"REVIEW_DEADLINE_BY_PROGRAMME": "car_scrap=-1"}):
        try:
            load_settings(bad)
        except ConfigError as exc:
            assert "REVIEW_DEADLINE" in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_a_bad_filter_is_shown_beside_its_field(client: FlaskClient, demo: dict[str, int]) -> None:
    login(client, "auditor.lishi")
    response = client.get("/review", query_string={"from": "2026-13-01", "sort": "sideways", "page": "-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("from", "sort", "page"):
        assert f'id="{field}-error"' in page
    assert "提交日期起:日期格式应为" in page and 'id="queue"' not in page
    reversed_range = client.get("/review", query_string={"from": "2026-06-02", "to": "2026-06-01"})
    assert reversed_range.status_code == 422 and "止日不能早于起日" in reversed_range.get_data(as_text=True)


def test_an_appliance_claim_is_found_by_its_serial_number_and_invoice(app: Flask, client: FlaskClient,
                                                                      demo: dict[str, int], uow: UnitOfWork) -> None:
    world = appliance_world(uow, demo)
    till = app.test_client()
    status, body = sell(till, bearer(till, "dealer.appliance"),
                        sale_body(world.store_id, None, FRIDGE, "4599.00", "2026-03-01", mode="claim"))
    assert status == 200, body
    sale = uow.session.scalar(select(ApplianceSale).where(ApplianceSale.id == body["sale_id"]))
    assert sale is not None
    person_id = persons.register_person(uow, actor="t", name="王五", id_number=resident_id("14110219800101071"),
                                        phone="13912340071")
    done = claims.claim(uow, apply_code=sale.apply_code, person_id=person_id,
                        data=claims.ClaimInput(bank_card(71), "中国工商银行", True),
                        versions=VersionCache().versions(uow), limits=FraudThresholds(), actor=f"person:{person_id}")
    uow.commit()
    login(client, "auditor.lishi")
    for term in (sale.serial_key.lower(), sale.invoice_key):
        page = client.get("/review", query_string={"state": "all", "q": term}).get_data(as_text=True)
        assert _ids(page) == [done.application_id], term
    fridges = client.get("/review", query_string={"state": "all", "category": sale.category}).get_data(as_text=True)
    assert _ids(fridges) == [done.application_id] and "冰箱" in fridges


def test_a_fraud_signal_filters_the_queue(client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    flagged, clean = _pending(uow, demo, 1), _pending(uow, demo, 2)
    run = uow.session.scalar(select(ApplicationCheck.run).where(ApplicationCheck.application_id == flagged.id))
    uow.session.execute(insert(ApplicationCheck).values(
        application_id=flagged.id, run=run, code="fraud.sales_per_phone:0", passed=False,
        explanation_zh="同一手机号近期多次购买", explanation_en="fraud.sales_per_phone"))
    uow.commit()
    login(client, "auditor.lishi")
    assert _ids(client.get("/review?fraud=1").get_data(as_text=True)) == [flagged.id]
    assert clean.id in _ids(client.get("/review").get_data(as_text=True))


def test_a_reviewer_takes_an_application_and_finds_it_under_assigned_to_me(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    mine, other = _pending(uow, demo, 1), _pending(uow, demo, 2)
    csrf = login(client, "auditor.lishi")
    detail = client.get(f"/review/{mine.id}").get_data(as_text=True)
    assert 'id="take"' in detail and 'id="dispatch-form"' not in detail  # an auditor takes; only seniors give
    response = client.post(f"/review/{mine.id}/assign", data={"csrf_token": csrf, "assignee": "me"})
    assert response.status_code == 302
    uow.session.expire_all()
    assert uow.session.get(Application, mine.id).assigned_to == demo["auditor.lishi"]
    event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "application.assigned"))
    assert event is not None and event.entity_id == str(mine.id)
    page = client.get("/review?assigned=me").get_data(as_text=True)
    assert _ids(page) == [mine.id] and "<strong>我</strong>" in page
    assert _ids(client.get("/review?assigned=none").get_data(as_text=True)) == [other.id]
    # Giving work to someone else is a senior auditor's: the auditor is refused and nothing changes.
    refused = client.post(f"/review/{other.id}/assign",
                          data={"csrf_token": csrf, "assignee": str(demo["senior.city"])})
    assert refused.status_code == 403
    uow.session.expire_all()
    assert uow.session.get(Application, other.id).assigned_to is None


def test_a_senior_auditor_gives_work_to_a_reviewer_of_the_county_only(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    app = _pending(uow, demo, 1)
    csrf = login(client, "senior.city")
    page = client.get(f"/review/{app.id}").get_data(as_text=True)
    assert 'id="dispatch-form"' in page and "离石区审核员" in page and "孝义市审核员" not in page
    wrong = client.post(f"/review/{app.id}/assign", data={"csrf_token": csrf, "assignee": str(demo["auditor.xiaoyi"])})
    assert wrong.status_code == 422 and 'id="assignee-error"' in wrong.get_data(as_text=True)
    garbage = client.post(f"/review/{app.id}/assign", data={"csrf_token": csrf, "assignee": "x1"})
    assert garbage.status_code == 422 and "分派给:请选择审核员" in garbage.get_data(as_text=True)
    uow.session.expire_all()
    assert uow.session.get(Application, app.id).assigned_to is None
    given = client.post(f"/review/{app.id}/assign", data={"csrf_token": csrf, "assignee": str(demo["auditor.lishi"])})
    assert given.status_code == 302
    assert 'id="assignee">离石区审核员' in client.get(f"/review/{app.id}").get_data(as_text=True)


def test_an_auditor_of_another_county_can_neither_see_nor_assign(client: FlaskClient, demo: dict[str, int],
                                                                 uow: UnitOfWork) -> None:
    app = _pending(uow, demo, 1)
    csrf = login(client, "auditor.xiaoyi")
    assert app.id not in _ids(client.get("/review?state=all").get_data(as_text=True))
    assert client.post(f"/review/{app.id}/assign", data={"csrf_token": csrf, "assignee": "me"}).status_code == 404
    assert client.get("/review", query_string={"county": "141102"}).status_code == 200  # a filter shows nothing
    assert client.get("/review", query_string={"q": app.number, "state": "all"}).get_data(as_text=True).count(
        'data-id=') == 0


def test_the_detail_links_certificate_and_shows_the_sale_registry_and_documents(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    app = _pending(uow, demo, 1)
    login(client, "auditor.lishi")
    page = client.get(f"/review/{app.id}").get_data(as_text=True)
    assert f'href="/recycling/certificates/{app.certificate_id}"' in page
    assert client.get(f"/recycling/certificates/{app.certificate_id}").status_code == 200
    sale = re.search(r'<table id="sale">.*?</table>', page, re.S)
    assert sale and "吕梁市汽车贸易有限公司" in sale.group(0) and "150000.00 元" in sale.group(0)
    registry = re.search(r'<table id="registry">.*?</table>', page, re.S)
    assert registry and str(app.old_vin) in registry.group(0) and "2026-05-25" in registry.group(0)


def test_the_queue_at_500_applications_runs_a_bounded_number_of_statements(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork, engine: Engine) -> None:
    model = _pending(uow, demo, 1)
    columns = {c.key: getattr(model, c.key) for c in Application.__table__.columns if c.key != "id"}
    now = dt.datetime.now(dt.UTC)
    uow.session.execute(insert(Application), [
        {**columns, "number": f"QC2099{i:08d}", "status_code": f"queue{i:027d}", "new_vin": None,
         "certificate_id": None, "submitted_at": now - dt.timedelta(hours=i),
         "assigned_to": demo["auditor.lishi"] if i % 2 else None} for i in range(499)])
    uow.commit()
    login(client, "auditor.lishi")
    with statements_starting(engine, "") as seen:
        response = client.get("/review")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and len(_ids(page)) == 50
    assert "共 500 件,第 1 / 10 页" in page and 'id="next-page"' in page and 'id="prev-page"' not in page
    queue_reads = [s for s in seen if "FROM application" in s]
    assert len(queue_reads) == 2, queue_reads  # the grouped counts and the page: never one per row
    assert len(seen) <= 10, seen  # 9 today: the session, the counts, the page, assignee names, dealers
    last = client.get("/review?page=10").get_data(as_text=True)
    assert len(_ids(last)) == 50 and 'id="next-page"' not in last and 'id="prev-page"' in last


def test_the_senior_auditors_second_review_queue_is_the_same_page_filtered_by_state(
        client: FlaskClient, demo: dict[str, int], uow: UnitOfWork) -> None:
    first, waiting = _pending(uow, demo, 1), _pending(uow, demo, 2)
    uow.session.execute(update(Application).where(Application.id == waiting.id)
                        .values(state="pending_second_review", first_reviewer_id=demo["auditor.lishi"]))
    uow.commit()
    login(client, "senior.city")
    page = client.get("/review").get_data(as_text=True)  # a senior auditor's default queue
    assert "<h1>补贴申请复核</h1>" in page and _ids(page) == [waiting.id]
    assert 'data-state="pending_second_review" aria-current="page"' in page
    assert _ids(client.get("/review?state=pending_review").get_data(as_text=True)) == [first.id]


def test_the_queue_filters_by_dealer_county_and_submission_dates(client: FlaskClient, demo: dict[str, int],
                                                                  uow: UnitOfWork) -> None:
    early, late = _pending(uow, demo, 1), _pending(uow, demo, 2)
    uow.session.execute(update(Application).where(Application.id == early.id)
                        .values(submitted_at=dt.datetime(2026, 6, 1, 15, 30, tzinfo=dt.UTC)))  # 06-01 23:30 Beijing
    uow.session.execute(update(Application).where(Application.id == late.id)
                        .values(submitted_at=dt.datetime(2026, 6, 1, 16, 30, tzinfo=dt.UTC)))  # 06-02 00:30 Beijing
    uow.commit()
    login(client, "auditor.lishi")

    def found(**args: str) -> list[int]:
        return _ids(client.get("/review", query_string=args).get_data(as_text=True))

    assert found(to="2026-06-01") == [early.id] and found(**{"from": "2026-06-02"}) == [late.id]
    assert found(dealer_org=str(demo["org:dealer:car"])) == [early.id, late.id]
    assert found(dealer_org=str(demo["org:dealer:appliance"])) == []
    assert found(county="141181") == []
