"""Budget pools: the ledger, thresholds, the first-come queue, and no over-commitment under concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Notification
from subsidy_app.identity.services import ensure_counties
from subsidy_app.rules import budget, budget_reports
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetReservation

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _pool(uow: UnitOfWork, allocated: str = "1000.00") -> int:
    ensure_counties(uow)
    pool_id = budget.create_pool(uow, actor="t", programme="appliance", county_code="141102", name="2026")
    budget.allocate(uow, actor="t", pool_id=pool_id, amount=Decimal(allocated), source="central")
    uow.commit()
    return pool_id


def _ledger(session: Session, pool_id: int) -> dict[str, Decimal]:
    rows = session.execute(select(BudgetEntry.kind, func.sum(BudgetEntry.amount))
                           .where(BudgetEntry.pool_id == pool_id).group_by(BudgetEntry.kind)).all()
    return {kind: Decimal(total) for kind, total in rows}


def _assert_ledger_matches(session: Session, pool_id: int) -> None:
    pool = session.get(BudgetPool, pool_id)
    session.refresh(pool)
    sums = _ledger(session, pool_id)
    zero = Decimal("0")
    assert pool.allocated == sums.get("allocate", zero) + sums.get("adjust", zero)
    assert pool.spent == sums.get("spend", zero)
    assert pool.reserved == sums.get("reserve", zero) - sums.get("release", zero) - sums.get("spend", zero)
    assert pool.reserved + pool.spent <= pool.allocated


def test_reserve_spend_release_keep_the_ledger_exact(uow: UnitOfWork) -> None:
    pool_id = _pool(uow)
    assert budget.reserve(uow, actor="t", pool_id=pool_id, reference="a", amount=Decimal("300.00"),
                          submitted_at=T0).state == "reserved"
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="b", amount=Decimal("200.00"), submitted_at=T0)
    budget.spend(uow, actor="t", reference="a")
    budget.spend(uow, actor="t", reference="a")  # a retried payment spends once
    budget.release(uow, actor="t", reference="b", reason="rejected")
    uow.commit()
    figures = budget_reports.pool_figures(uow, pool_id=pool_id)
    assert (figures.allocated, figures.reserved, figures.spent, figures.remaining) == (
        Decimal("1000.00"), Decimal("0.00"), Decimal("300.00"), Decimal("700.00"))
    _assert_ledger_matches(uow.session, pool_id)


def test_exhausted_pool_queues_first_come_and_top_up_funds_in_order(uow: UnitOfWork) -> None:
    pool_id = _pool(uow, "500.00")
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="a", amount=Decimal("400.00"), submitted_at=T0)
    early = budget.reserve(uow, actor="t", pool_id=pool_id, reference="early", amount=Decimal("200.00"),
                           submitted_at=T0 + dt.timedelta(hours=1))
    late = budget.reserve(uow, actor="t", pool_id=pool_id, reference="late", amount=Decimal("100.00"),
                          submitted_at=T0 + dt.timedelta(hours=2))
    # Arrives last but was submitted first among the waiting ones.
    earliest = budget.reserve(uow, actor="t", pool_id=pool_id, reference="earliest", amount=Decimal("50.00"),
                              submitted_at=T0 + dt.timedelta(minutes=30))
    assert (early.state, late.state, earliest.state) == ("queued", "queued", "queued")  # "late" fits, but waits
    funded = budget.allocate(uow, actor="t", pool_id=pool_id, amount=Decimal("150.00"), source="city")
    assert funded == [earliest.reference, early.reference]
    funded = budget.allocate(uow, actor="t", pool_id=pool_id, amount=Decimal("100.00"), source="provincial")
    assert funded == [late.reference]
    uow.commit()
    assert budget_reports.pool_figures(uow, pool_id=pool_id).remaining == Decimal("0.00")
    _assert_ledger_matches(uow.session, pool_id)


def test_thresholds_notify_the_county_bureau_once_each(uow: UnitOfWork) -> None:
    pool_id = _pool(uow)
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="a", amount=Decimal("790.00"), submitted_at=T0)
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="b", amount=Decimal("20.00"), submitted_at=T0)
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="c", amount=Decimal("10.00"), submitted_at=T0)
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="d", amount=Decimal("150.00"), submitted_at=T0)
    uow.commit()
    kinds = uow.session.scalars(select(Notification.kind).order_by(Notification.id)).all()
    assert kinds == ["budget.threshold_80", "budget.threshold_95"]


def test_adjustment_needs_a_reason_and_cannot_undercut_commitments(uow: UnitOfWork) -> None:
    pool_id = _pool(uow)
    budget.reserve(uow, actor="t", pool_id=pool_id, reference="a", amount=Decimal("600.00"), submitted_at=T0)
    with pytest.raises(ValidationFailed):
        budget.adjust(uow, actor="t", pool_id=pool_id, amount=Decimal("-100.00"), reason=" ")
    with pytest.raises(Conflict):
        budget.adjust(uow, actor="t", pool_id=pool_id, amount=Decimal("-500.00"), reason="budget cut")
    budget.adjust(uow, actor="t", pool_id=pool_id, amount=Decimal("-400.00"), reason="budget cut")
    uow.commit()
    assert budget_reports.pool_figures(uow, pool_id=pool_id).remaining == Decimal("0.00")


def test_database_refuses_overcommitment_even_past_the_service(uow: UnitOfWork) -> None:
    from sqlalchemy.exc import IntegrityError

    pool_id = _pool(uow)
    with pytest.raises(IntegrityError), uow.session.begin_nested():
        uow.session.execute(BudgetPool.__table__.update().where(BudgetPool.id == pool_id).values(reserved=2000))


def test_fifty_concurrent_approvals_against_a_pool_for_twenty(
    postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher
) -> None:
    with UnitOfWork(committed, None, cipher) as uow:
        pool_id = _pool(uow, "20000.00")
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def approve(i: int) -> None:
        try:
            with UnitOfWork(committed, None, cipher) as uow:
                barrier.wait()
                budget.reserve(uow, actor="t", pool_id=pool_id, reference=f"app-{i}", amount=Decimal("1000.00"),
                               submitted_at=T0 + dt.timedelta(seconds=i))
                uow.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with committed() as session:
        states = dict(session.execute(select(BudgetReservation.state, func.count()).group_by(
            BudgetReservation.state)).all())
        assert states == {"reserved": 20, "queued": 30}
        _assert_ledger_matches(session, pool_id)
        assert session.get(BudgetPool, pool_id).reserved == Decimal("20000.00")
