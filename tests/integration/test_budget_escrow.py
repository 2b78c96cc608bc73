"""Budget escrow (issue 17 §1) on PostgreSQL with real threads and commits: tranches spread a county's tills over
several rows and never sell a yuan more, or a yuan less, than the pool holds."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.rules import budget, budget_reports, escrow
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation, BudgetTranche
from subsidy_app.seed import seed_demo
from tests.appliance_fixtures import PHONE, appliance_world, buyer_token, imei, sale_body
from tests.helpers import bearer

DISCOUNT = Decimal("404.85")  # a 2,699-yuan phone's instant discount (15 %)
TRANCHES = 4


@pytest.fixture
def tranches(committed_app) -> Iterator[None]:
    """Escrow on for the test (the app's settings start with it off), off again afterwards."""
    escrow.configure(tranches=TRANCHES)
    yield
    escrow.configure(tranches=0)


def _sell(app, headers, body) -> tuple[int, str | None]:
    response = app.test_client().post("/api/v1/appliance-sales", json=body, headers=headers)
    return response.status_code, response.get_json().get("reason")


def _race(app, headers, bodies) -> Counter[tuple[int, str | None]]:
    results: list[tuple[int, str | None]] = []
    lock, start = threading.Lock(), threading.Barrier(len(bodies))

    def till(body) -> None:
        start.wait()
        outcome = _sell(app, headers, body)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=till, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(results)


def _bodies(uow, world, first: int, count: int) -> list[dict[str, object]]:
    return [sale_body(world.store_id, buyer_token(uow, world.store_id, first + i), PHONE, "2699.00", "2025-03-01",
                      serial=imei(first + i)) for i in range(count)]


def _assert_pool_exact(session, pool_id: int, funded: int) -> None:
    """The pool row, its tranches, its reservations and its ledger all tell the same story."""
    session.expire_all()
    pool = session.get(BudgetPool, pool_id)
    held = session.scalar(select(func.coalesce(func.sum(BudgetTranche.balance), 0))
                          .where(BudgetTranche.pool_id == pool_id))
    reserved = session.scalars(select(BudgetReservation.amount).where(
        BudgetReservation.pool_id == pool_id, BudgetReservation.state == "reserved")).all()
    ledger = session.scalar(select(func.coalesce(func.sum(BudgetEntry.amount), 0)).where(
        BudgetEntry.pool_id == pool_id, BudgetEntry.kind == "reserve"))
    assert len(reserved) == funded and sum(reserved, Decimal(0)) == funded * DISCOUNT == ledger
    assert pool.reserved == sum(reserved, Decimal(0)) + held  # what tranches hold is counted on the pool row
    assert pool.reserved + pool.spent <= pool.allocated
    figures = budget_reports.pool_figures(_Uow(session), pool_id=pool_id)
    assert figures.reserved == funded * DISCOUNT and figures.remaining == pool.allocated - funded * DISCOUNT


class _Uow:
    """Just enough of a unit of work for a read-only report on a plain session."""

    def __init__(self, session) -> None:
        self.session = session


def test_50_tills_against_a_pool_that_funds_20_fund_exactly_20_through_tranches(
        postgres, committed_app, committed_uow, tranches) -> None:
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount=str(20 * DISCOUNT))
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    outcome = _race(committed_app, headers, _bodies(committed_uow, world, 100, 50))
    assert outcome == Counter({(200, None): 20, (409, "budget.exhausted"): 30})
    session = committed_uow.session
    _assert_pool_exact(session, world.pools["digital"], 20)
    assert session.scalar(select(func.count()).select_from(BudgetTranche)) >= 1  # the tills did use tranches
    assert session.scalar(select(func.count()).select_from(ApplianceSale)) == 20


def test_a_pool_drained_to_its_last_yuan_through_tranches_sells_that_yuan(
        postgres, committed_app, committed_uow, tranches, monkeypatch) -> None:
    # Nine discounts' worth. Each sale sells from the next tranche in turn, so the money is spread over all four
    # tranches and the pool row; the last sales find their tranche and the pool short and must drain the others.
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount=str(9 * DISCOUNT + Decimal("1")))
    turn = itertools.cycle(range(TRANCHES))
    monkeypatch.setattr(escrow, "slot", lambda: next(turn))
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    outcomes = [_sell(committed_app, headers, body) for body in _bodies(committed_uow, world, 200, 10)]
    assert outcomes == [(200, None)] * 9 + [(409, "budget.exhausted")]
    _assert_pool_exact(committed_uow.session, world.pools["digital"], 9)
    session = committed_uow.session
    pool = session.get(BudgetPool, world.pools["digital"])
    held = session.scalar(select(func.sum(BudgetTranche.balance)).where(BudgetTranche.pool_id == pool.id))
    assert pool.allocated - (pool.reserved - held) == Decimal("1.00")  # the yuan no sale could use is still free


def test_an_approval_is_funded_from_money_waiting_in_tranches_rather_than_queued(
        postgres, committed_app, committed_uow, tranches) -> None:
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount=str(40 * DISCOUNT))
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    assert _sell(committed_app, headers, _bodies(committed_uow, world, 300, 1)[0]) == (200, None)
    session = committed_uow.session
    session.expire_all()
    pool = session.get(BudgetPool, world.pools["digital"])
    held = session.scalar(select(func.sum(BudgetTranche.balance)).where(BudgetTranche.pool_id == pool.id))
    free = pool.allocated - pool.reserved  # what the pool row alone could fund
    assert held > 0 and free < 39 * DISCOUNT
    outcome = budget.reserve(committed_uow, actor="t", pool_id=pool.id, reference="claim-1", amount=39 * DISCOUNT,
                             submitted_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    committed_uow.commit()
    assert outcome.state == "reserved"
    session.expire_all()
    assert session.scalar(select(func.sum(BudgetTranche.balance)).where(BudgetTranche.pool_id == pool.id)) == 0
    assert budget_reports.pool_figures(committed_uow, pool_id=pool.id).remaining == 0


def test_with_escrow_off_the_till_sells_from_the_pool_row_and_leaves_no_tranche(
        postgres, committed_app, committed_uow) -> None:
    world = appliance_world(committed_uow, seed_demo(committed_uow), pool_amount=str(3 * DISCOUNT))
    headers = bearer(committed_app.test_client(), "dealer.appliance")
    assert [_sell(committed_app, headers, b) for b in _bodies(committed_uow, world, 400, 4)] == [
        (200, None)] * 3 + [(409, "budget.exhausted")]
    assert committed_uow.session.scalar(select(func.count()).select_from(BudgetTranche)) == 0
    _assert_pool_exact(committed_uow.session, world.pools["digital"], 3)
