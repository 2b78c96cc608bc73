"""A pool locked again in a later transaction of the same unit of work is read afresh (PostgreSQL, real commits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import ensure_counties
from subsidy_app.rules import budget
from subsidy_app.rules.models import BudgetPool
from tests.integration.test_budget_pools import _assert_ledger_matches

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_a_long_unit_of_work_sees_what_others_reserved_between_its_transactions(
    postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher
) -> None:
    # A bulk job or a batch approval commits chunk after chunk in one session, which keeps its rows across
    # commits: the pool it locks again must be read under the new lock, not taken from the session's memory.
    with UnitOfWork(committed, None, cipher) as setup:
        ensure_counties(setup)
        pool_id = budget.create_pool(setup, actor="t", programme="appliance", county_code="141102", name="2026")
        budget.allocate(setup, actor="t", pool_id=pool_id, amount=Decimal("1000.00"), source="central")
        setup.commit()
    with UnitOfWork(committed, None, cipher) as long_job:
        kept = long_job.session.get(BudgetPool, pool_id)  # a row the job holds on to (to report on, say)
        budget.reserve(long_job, actor="t", pool_id=pool_id, reference="chunk-1", amount=Decimal("100.00"),
                       submitted_at=T0)
        long_job.commit()
        with UnitOfWork(committed, None, cipher) as other:
            budget.reserve(other, actor="t", pool_id=pool_id, reference="other-1", amount=Decimal("50.00"),
                           submitted_at=T0)
            other.commit()
        budget.reserve(long_job, actor="t", pool_id=pool_id, reference="chunk-2", amount=Decimal("100.00"),
                       submitted_at=T0)
        long_job.commit()
    with committed() as session:
        assert session.get(BudgetPool, pool_id).reserved == Decimal("250.00") == kept.reserved
        _assert_ledger_matches(session, pool_id)
