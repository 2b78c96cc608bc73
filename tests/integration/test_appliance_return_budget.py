"""A return after payment: deducted from the next statement, and given back to the budget pool exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.applications import payments, review
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import Application
from subsidy_app.audit import services as audit
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.rules import budget
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation
from tests.appliance_fixtures import AC, appliance_world, buyer_token, sale_body, sell
from tests.helpers import bearer
from tests.recycling_support import IntakeDraftFactory, build_network

MAY = ("2025-05-01", "2025-05-31")
JUNE = ("2025-06-01", "2025-06-30")
JULY = ("2025-07-01", "2025-07-31")


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(client: FlaskClient, world) -> dict[str, str]:
    return bearer(client, "dealer.appliance")


def _principal(uow: UnitOfWork, demo: dict[str, int], name: str) -> Any:
    principal = load_principal(uow, account_id=demo[name])
    assert principal is not None
    return principal


def _pool(uow: UnitOfWork, world) -> BudgetPool:
    pool = uow.session.get(BudgetPool, world.pools["appliance"])
    uow.session.refresh(pool)
    return pool


def _sale(client, uow, world, till, buyer: int, price: str, sold_on: str) -> dict[str, Any]:
    status, body = sell(client, till, sale_body(world.store_id, buyer_token(uow, world.store_id, buyer), AC, price,
                                                sold_on))
    assert status == 200, body
    return body


def _statement(client, world, till, period: tuple[str, str]) -> dict[str, Any]:
    response = client.post("/api/v1/appliance-settlements", headers=till, json={
        "dealer_org_id": world.dealer_org, "programme": "appliance", "period_start": period[0],
        "period_end": period[1]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _approve(uow, demo, statement) -> None:
    """Approve a statement; a sale priced above the reference margin flags it, so a second reviewer follows."""
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=statement["application_id"],
                  action=Action.APPROVE)
    uow.commit()
    app = uow.session.get(Application, statement["application_id"])
    uow.session.refresh(app)
    if app.state == "pending_second_review":
        review.review(uow, principal=_principal(uow, demo, "senior.city"), application_id=app.id,
                      action=Action.APPROVE_SECOND)
        uow.commit()


def _pay(uow, demo, statement) -> bytes:
    """Put an approved statement through a payment batch and the bank's result file; return the file."""
    finance = _principal(uow, demo, "finance.city")
    batch = payments.create_batch(uow, principal=finance, application_ids=[statement["application_id"]],
                                  declared_count=1, declared_total=Decimal(statement["total"]))
    rows = payments.export_rows(uow, principal=finance, batch_id=batch.id)
    uow.commit()
    line = f"1,{rows[1][1]},{statement['total']},成功,B{batch.id},"
    result = f"序号,申请编号,金额,结果,银行流水号,说明\n{line}\n".encode()
    payments.import_bank_result(uow, principal=finance, batch_id=batch.id, filename="r.csv", data=result)
    uow.commit()
    app = uow.session.get(Application, statement["application_id"])
    uow.session.refresh(app)
    assert app.state == "paid"
    return result


def _return(client, till, sale: dict[str, Any]) -> None:
    response = client.post(f"/api/v1/appliance-sales/{sale['sale_id']}/return", headers=till,
                           json={"reason": "质量问题退货"})
    assert response.status_code == 200 and response.get_json()["state"] == "returned"


def _refunds(uow: UnitOfWork, reference: str) -> list[BudgetEntry]:
    return list(uow.session.scalars(select(BudgetEntry).where(BudgetEntry.reference == reference,
                                                              BudgetEntry.kind.in_(("refund", "release")))))


def test_a_return_after_payment_goes_back_to_the_pool_when_the_next_statement_is_paid(client, uow, world, till,
                                                                                      demo) -> None:
    first = _sale(client, uow, world, till, 70, "3999.00", "2025-05-10")  # 799.80
    may = _statement(client, world, till, MAY)
    _approve(uow, demo, may)
    _pay(uow, demo, may)
    assert _pool(uow, world).spent == Decimal("799.80")
    _return(client, till, first)
    assert _pool(uow, world).spent == Decimal("799.80")  # paid out; nothing comes back until it is deducted
    _sale(client, uow, world, till, 71, "5000.00", "2025-06-10")  # 1,000.00
    june = _statement(client, world, till, JUNE)
    assert (june["gross"], june["clawback"], june["total"]) == ("1000.00", "799.80", "200.20")
    _approve(uow, demo, june)
    assert _pool(uow, world).spent == Decimal("799.80")  # approved is not paid
    result = _pay(uow, demo, june)
    pool = _pool(uow, world)
    really_paid = Decimal(may["total"]) + Decimal(june["total"])
    assert (pool.spent, pool.reserved) == (really_paid, Decimal("0.00")) == (Decimal("1000.00"), Decimal("0.00"))
    [entry] = _refunds(uow, first["number"])
    assert (entry.kind, entry.amount) == ("refund", Decimal("799.80")) and june["number"] in (entry.reason or "")
    events = [e for e in audit.list_events(uow.session, entity_type="budget_pool") if e.action == "budget.refunded"]
    assert [e.summary["after"]["reference"] for e in events] == [first["number"]]
    # Exactly once: the same bank file again, or a second refund of the reference, changes nothing.
    finance = _principal(uow, demo, "finance.city")
    batch_id = uow.session.scalar(select(func.max(payments.PaymentBatch.id)))
    assert payments.import_bank_result(uow, principal=finance, batch_id=batch_id, filename="r.csv",
                                       data=result).already_imported
    assert budget.refund(uow, actor="t", reference=first["number"], reason="again") is False
    uow.commit()
    assert _pool(uow, world).spent == Decimal("1000.00") and len(_refunds(uow, first["number"])) == 1


def test_a_deduction_paid_before_the_sale_it_deducts(client, uow, world, till, demo) -> None:
    first = _sale(client, uow, world, till, 72, "3999.00", "2025-05-10")  # 799.80, on May's statement
    may = _statement(client, world, till, MAY)
    _return(client, till, first)  # returned while May's statement waits for review
    _sale(client, uow, world, till, 73, "5000.00", "2025-06-10")
    june = _statement(client, world, till, JUNE)
    assert june["clawback"] == "799.80"
    _approve(uow, demo, june)
    _pay(uow, demo, june)  # June is paid first: 1,000.00 less 799.80
    assert _pool(uow, world).spent == Decimal("1000.00")  # June's sale; the returned one is no longer reserved
    _approve(uow, demo, may)
    _pay(uow, demo, may)  # May still pays the returned sale: the June deduction already recovered it
    pool = _pool(uow, world)
    assert pool.spent == Decimal(may["total"]) + Decimal(june["total"]) == Decimal("1000.00")
    assert pool.reserved == Decimal("0.00")
    row = uow.session.scalar(select(BudgetReservation).where(BudgetReservation.reference == first["number"]))
    assert row is not None and row.state == "refunded" and len(_refunds(uow, first["number"])) == 1


def test_a_rejected_deduction_is_taken_again_and_refunded_once(client, uow, world, till, demo) -> None:
    first = _sale(client, uow, world, till, 74, "3999.00", "2025-05-10")
    may = _statement(client, world, till, MAY)
    _approve(uow, demo, may)
    _pay(uow, demo, may)
    _return(client, till, first)
    _sale(client, uow, world, till, 75, "5000.00", "2025-06-10")
    june = _statement(client, world, till, JUNE)
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=june["application_id"],
                  action=Action.REJECT, reason="发票不清晰")
    uow.commit()
    assert _pool(uow, world).spent == Decimal("799.80")  # nothing was deducted: nothing comes back
    _sale(client, uow, world, till, 76, "5000.00", "2025-07-10")
    july = _statement(client, world, till, JULY)  # June's sale and the deduction both move to July's statement
    assert (july["sales"], july["gross"], july["clawback"], july["total"]) == (2, "2000.00", "799.80", "1200.20")
    _approve(uow, demo, july)
    _pay(uow, demo, july)
    pool = _pool(uow, world)
    assert pool.spent == Decimal(may["total"]) + Decimal(july["total"]) == Decimal("2000.00")
    assert len(_refunds(uow, first["number"])) == 1


def test_a_return_on_a_rejected_statement_releases_its_budget(client, uow, world, till, demo) -> None:
    first = _sale(client, uow, world, till, 77, "3999.00", "2025-05-10")
    may = _statement(client, world, till, MAY)
    _return(client, till, first)
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=may["application_id"],
                  action=Action.REJECT, reason="材料不全")
    uow.commit()
    assert _pool(uow, world).reserved == Decimal("799.80")  # still held: the statement died unpaid
    _sale(client, uow, world, till, 78, "5000.00", "2025-06-10")
    june = _statement(client, world, till, JUNE)
    assert (june["sales"], june["clawback"]) == (1, "0.00")  # never paid, so nothing to deduct
    pool = _pool(uow, world)
    assert (pool.reserved, pool.spent) == (Decimal("1000.00"), Decimal("0.00"))


def test_a_return_drops_the_old_items_open_hand_in_duty_but_keeps_one_already_met(client, uow, world, till,
                                                                                   demo) -> None:
    from recycling import hand_in_tally, intake
    from recycling.models import HandInObligation

    def duty(number: str) -> HandInObligation | None:
        return uow.session.scalar(select(HandInObligation).where(HandInObligation.trade_in_ref == number)
                                  .execution_options(populate_existing=True))

    kept, dropped = (_sale(client, uow, world, till, buyer, "3999.00", "2025-05-10") for buyer in (71, 72))
    assert duty(kept["number"]) is not None and duty(dropped["number"]) is not None
    # The first old item did reach a recycler before the return: that recovery still counts.
    network = build_network(uow, demo)
    intake.record_intake(uow, actor="t", acting_org_id=network.org_id, draft=IntakeDraftFactory(
        site_id=network.drop_off, source="dealer_pickup", trade_in_ref=kept["number"],
        occurred_on=dt.date(2025, 5, 12)))
    uow.commit()
    for sale in (kept, dropped):
        _return(client, till, sale)
    assert duty(dropped["number"]) is None  # nothing is owed for an undone trade-in: neither open nor overdue
    closed = duty(kept["number"])
    assert closed is not None and closed.status == "closed"
    assert hand_in_tally.stored(uow) == hand_in_tally.recount(uow)
    voided = [e for e in audit.list_events(uow.session, entity_type="hand_in_obligation")
              if e.action == "recycling.hand_in_voided"]
    assert len(voided) == 1 and dropped["number"] in str(voided[0].summary)
    _return(client, till, dropped)  # a repeated return changes nothing
    assert hand_in_tally.stored(uow) == hand_in_tally.recount(uow)
