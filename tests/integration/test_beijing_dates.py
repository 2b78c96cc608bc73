"""Business dates are Beijing dates: a sale, an application, a statement and a report period around midnight."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from recycling.intake import IntakeDraft, check_draft
from recycling.reports import make_due_reports
from reverse_invoice import filing, recyclers
from subsidy_app.appliances import claims
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications import checks
from subsidy_app.applications.models import Application
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.rules import services as rules
from subsidy_app.rules.models import QuotaHold
from tests.appliance_fixtures import FRIDGE, appliance_world, buyer_token, sale_body, sell
from tests.car_fixtures import car_world, resident_id, submit
from tests.helpers import bearer, freeze_clock
from tests.integration.ri_support import ADMIN, issue, qualify, seller

UTC = dt.UTC


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]) -> Any:
    return appliance_world(uow, demo)


def _sell_now(app: Flask, uow: UnitOfWork, world: Any, serial: int, **extra: Any) -> dict[str, Any]:
    """Key a fridge in at the till without a sale date: the till's today is the sale date."""
    token = buyer_token(uow, world.store_id, serial) if extra.get("mode") != "claim" else None
    body = sale_body(world.store_id, token, FRIDGE, "4599.00", "unused", **extra)
    del body["sold_on"]
    client = app.test_client()
    status, answer = sell(client, bearer(client, "dealer.appliance"), body)
    assert status == 200, answer
    return answer


def _sale(uow: UnitOfWork, sale_id: int) -> ApplianceSale:
    sale = uow.session.get(ApplianceSale, sale_id)
    assert sale is not None
    return sale


def test_a_sale_keyed_in_at_0536_beijing_time_is_dated_that_morning(app, uow, world, monkeypatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC))  # 05:36 on 2026-12-03 in Beijing
    answer = _sell_now(app, uow, world, 1)
    sale = _sale(uow, answer["sale_id"])
    assert answer["number"].startswith("AS261203")
    assert business_date(sale.sold_at) == dt.date(2026, 12, 3)
    assert sale.sold_at == dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC)  # the instant itself is kept in UTC


def test_a_sale_at_0030_on_new_years_day_is_not_taken_under_last_years_version(app, uow, world, monkeypatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2025, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 2026-01-01 in Beijing
    answer = _sell_now(app, uow, world, 2)
    # appliance-2025 ends on 2025-12-31 and appliance-2026 opens on 2026-01-09: no version covers New Year's Day.
    assert (answer["eligible"], answer["version_code"]) == (False, None)
    assert [r["code"] for r in answer["reasons"]] == ["rules.no_version"]
    assert "2026-01-01" in answer["reasons"][0]["zh"]


def test_a_sale_at_0030_on_the_2026_rounds_first_day_takes_its_version_and_quota(app, uow, world, monkeypatch
                                                                                ) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 1, 8, 16, 30, tzinfo=UTC))  # 00:30 on 2026-01-09 in Beijing
    answer = _sell_now(app, uow, world, 3)
    assert (answer["eligible"], answer["version_code"]) == (True, "appliance-2026"), answer
    hold = uow.session.scalar(select(QuotaHold).where(QuotaHold.reference == answer["number"]))
    assert hold is not None and hold.period_key == "appliance-2026"


def test_a_claim_is_decided_on_the_sales_beijing_date(app, uow, world, monkeypatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 1, 8, 16, 30, tzinfo=UTC))  # 00:30 on 2026-01-09 in Beijing
    answer = _sell_now(app, uow, world, 4, mode="claim", delivery_address="离石区测试路 4 号")
    assert answer["eligible"], answer
    sale = _sale(uow, answer["sale_id"])
    person = persons.register_person(uow, actor="t", name="李四", id_number=resident_id("14110219800101004"),
                                     phone="13912340004")
    done = claims.claim(uow, apply_code=sale.apply_code, person_id=person, versions=rules.published_versions(uow),
                        data=claims.ClaimInput("6222020000000000018", "中国工商银行", True),
                        limits=FraudThresholds(), actor=f"person:{person}")
    claim = uow.session.get(Application, done.application_id)
    assert claim is not None and claim.facts["sold_on"] == "2026-01-09"  # not 2026-01-08, before the round opened
    assert claim.version_code == "appliance-2026" and claim.amount == Decimal("689.85")


def test_a_car_application_at_0030_on_february_first_is_dated_february(uow, demo, monkeypatch) -> None:
    world = car_world(uow, demo, invoice_date=dt.date(2026, 1, 20))  # its certificate is dated 2026-05-20
    freeze_clock(monkeypatch, dt.datetime(2026, 1, 31, 16, 30, tzinfo=UTC))  # 00:30 on 2026-02-01 in Beijing
    done = submit(uow, world)
    app = uow.session.get(Application, done.application_id)
    assert app is not None and app.facts["applied_on"] == "2026-02-01"


def test_an_application_number_carries_the_beijing_year(uow, demo, monkeypatch) -> None:
    world = car_world(uow, demo, invoice_date=dt.date(2026, 12, 1))
    freeze_clock(monkeypatch, dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 2027-01-01 in Beijing
    done = submit(uow, world)
    assert re.fullmatch(r"[A-Z]+2027\d{8}", done.number), done.number


@pytest.mark.parametrize(("instant", "passed"), [
    (dt.datetime(2026, 1, 10, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on the deadline day in Beijing
    (dt.datetime(2026, 1, 10, 16, 0, 0, tzinfo=UTC), False),  # 00:00 the day after
])
def test_the_application_deadline_ends_at_midnight_beijing_time(uow, demo, monkeypatch, instant: dt.datetime,
                                                                passed: bool) -> None:
    world = car_world(uow, demo, invoice_date=dt.date(2025, 12, 20))
    freeze_clock(monkeypatch, instant)  # car_scrap-2025: apply by 2026-01-10
    done = submit(uow, world)
    app = uow.session.get(Application, done.application_id)
    assert app is not None and app.version_code == "car_scrap-2025"
    window = {c.code: c.passed for c in checks.latest_checks(uow, application_id=app.id)}["rule.window.apply_by"]
    assert window is passed


def test_a_statement_of_march_leaves_out_a_sale_made_at_0030_on_april_first(app, uow, world, monkeypatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # 00:30 on 2026-04-01 in Beijing
    sold = _sell_now(app, uow, world, 5)
    client = app.test_client()
    till = bearer(client, "dealer.appliance")
    body = {"dealer_org_id": world.dealer_org, "programme": "appliance"}
    march = client.post("/api/v1/appliance-settlements", headers=till,
                        json={**body, "period_start": "2026-03-01", "period_end": "2026-03-31"})
    assert (march.status_code, march.get_json()["reason"]) == (409, "settlement.empty")
    april = client.post("/api/v1/appliance-settlements", headers=till,
                        json={**body, "period_start": "2026-04-01", "period_end": "2026-04-30"})
    assert april.status_code == 201 and april.get_json()["sales"] == 1, april.get_json()
    assert sold["number"].startswith("AS260401")


@pytest.mark.parametrize(("instant", "due"), [
    (dt.datetime(2026, 1, 10, 15, 30, tzinfo=UTC), ["2025-12-3", "2025-12"]),  # 23:30 on 2026-01-10 in Beijing
    (dt.datetime(2026, 1, 10, 16, 30, tzinfo=UTC), ["2026-01-1", "2025-12"]),  # 00:30 on 2026-01-11: 上旬 ended
])
def test_the_ten_day_report_due_follows_the_beijing_day(uow, demo, monkeypatch, instant: dt.datetime,
                                                       due: list[str]) -> None:
    freeze_clock(monkeypatch, instant)
    assert make_due_reports(uow, actor="t") == due


def test_an_intake_may_be_dated_the_beijing_today_but_not_the_day_after(monkeypatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC))  # 05:36 on 2026-12-03 in Beijing

    def draft(day: dt.date) -> IntakeDraft:
        return IntakeDraft(site_id=1, source="resident", category="appliance.refrigerator", units=1,
                           weight_kg=Decimal("45.000"), occurred_on=day)

    check_draft(draft(dt.date(2026, 12, 3)))  # the clerk's today, though UTC still reads 2026-12-02
    with pytest.raises(ValidationFailed) as refused:
        check_draft(draft(dt.date(2026, 12, 4)))
    assert refused.value.reason == "intake.date"


def test_the_filing_prepared_at_0030_on_february_first_is_januarys(uow, demo, monkeypatch) -> None:
    recycler = demo["org:recycler:dismantler"]
    qualify(uow, recycler)
    freeze_clock(monkeypatch, dt.datetime(2026, 1, 31, 16, 30, tzinfo=UTC))  # 00:30 on 2026-02-01 in Beijing
    [filing_id] = filing.prepare_all_filings(uow, actor="t")  # "last month", as the job on the 1st asks
    report = filing.filing_report(uow, principal=ADMIN, filing_id=filing_id)
    assert (report.month, report.due_on) == (dt.date(2026, 1, 1), dt.date(2026, 2, 15))


@pytest.mark.parametrize(("instant", "status"), [
    (dt.datetime(2026, 2, 15, 15, 30, tzinfo=UTC), "active"),  # 23:30 on the due day in Beijing
    (dt.datetime(2026, 2, 15, 16, 30, tzinfo=UTC), "suspended"),  # 00:30 the day after: January's tax is late
])
def test_an_unpaid_filing_is_late_from_midnight_beijing_time(uow, demo, monkeypatch, instant: dt.datetime,
                                                            status: str) -> None:
    recycler = demo["org:recycler:dismantler"]
    qualify(uow, recycler)
    issue(uow, recycler, seller(uow, 1, recycler), "200000.00", on=dt.date(2026, 1, 20))  # January owes tax
    filing.prepare_all_filings(uow, actor="t", month=dt.date(2026, 1, 1))  # due 2026-02-15, left unpaid
    freeze_clock(monkeypatch, instant)
    assert recyclers.check_all_suspensions(uow)[status] == 1
    assert recyclers.standing(uow, recycler_id=recycler).status == status


def test_the_till_takes_the_beijing_today_as_a_sale_date_but_not_the_day_after(app, uow, world, monkeypatch
                                                                              ) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC))  # 05:36 on 2026-12-03 in Beijing
    client = app.test_client()
    till = bearer(client, "dealer.appliance")
    today = sale_body(world.store_id, buyer_token(uow, world.store_id, 6), FRIDGE, "4599.00", "2026-12-03")
    status, answer = sell(client, till, today)
    assert status == 200 and answer["eligible"] and answer["number"].startswith("AS261203"), answer
    sale = _sale(uow, answer["sale_id"])
    assert sale.sold_at == dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC)  # today's sale keeps its real time
    tomorrow = sale_body(world.store_id, buyer_token(uow, world.store_id, 7), FRIDGE, "4599.00", "2026-12-04")
    status, answer = sell(client, till, tomorrow)
    assert (status, answer["reason"], list(answer["errors"])) == (422, "sale.date", ["sold_on"])


def test_a_back_dated_sale_keyed_in_after_midnight_keeps_its_beijing_date(app, uow, world, monkeypatch) -> None:
    freeze_clock(monkeypatch, dt.datetime(2026, 12, 2, 21, 36, tzinfo=UTC))  # 05:36 on 2026-12-03 in Beijing
    client = app.test_client()
    body = sale_body(world.store_id, buyer_token(uow, world.store_id, 8), FRIDGE, "4599.00", "2026-11-30")
    status, answer = sell(client, bearer(client, "dealer.appliance"), body)
    assert status == 200 and answer["eligible"], answer
    sale = _sale(uow, answer["sale_id"])
    # At the clock's Beijing time of day on its own date: 2026-11-30 05:36 in Beijing, so in November's statement.
    assert sale.sold_at == dt.datetime(2026, 11, 29, 21, 36, tzinfo=UTC)
    assert business_date(sale.sold_at) == dt.date(2026, 11, 30)


def test_a_locked_account_is_told_until_when_in_beijing_time(uow, demo, monkeypatch) -> None:
    from subsidy_app.core.errors import NotAuthenticated
    from subsidy_app.identity.services import authenticate

    freeze_clock(monkeypatch, dt.datetime(2026, 12, 2, 21, 30, tzinfo=UTC))  # 05:30 on 2026-12-03 in Beijing
    with pytest.raises(NotAuthenticated):
        authenticate(uow, username="auditor.lishi", password="wrong", max_failures=1, lock_minutes=15)
    with pytest.raises(NotAuthenticated) as locked:
        authenticate(uow, username="auditor.lishi", password="wrong", max_failures=1, lock_minutes=15)
    assert locked.value.reason == "auth.locked"
    assert "北京时间 05:45" in str(locked.value) and "21:45" not in str(locked.value)
