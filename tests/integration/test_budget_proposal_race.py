"""A budget proposal approved by several officers at once (a double click, a replayed request) moves money once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.rules import budget, budget_proposals
from subsidy_app.rules.models import BudgetEntry, BudgetPool
from subsidy_app.seed import seed_demo
from tests.helpers import race

pytestmark = pytest.mark.usefixtures("postgres")


def test_eight_concurrent_approvals_of_one_top_up_apply_it_exactly_once(
        committed_uow: UnitOfWork, committed: sessionmaker[Session], cipher: PersonalDataCipher) -> None:
    demo = seed_demo(committed_uow)
    pool_id = budget.create_pool(committed_uow, actor="t", programme="appliance", county_code="141102", name="竞争")
    admin = load_principal(committed_uow, account_id=demo["admin"])
    assert admin is not None
    proposal = budget_proposals.propose(committed_uow, principal=admin, pool_id=pool_id, kind="top_up",
                                        amount=Decimal("100.00"), source="central", reason="中央资金")
    committed_uow.commit()

    def attempt(i: int) -> str:
        with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as uow:
            finance = load_principal(uow, account_id=demo["finance.city"])
            assert finance is not None
            budget_proposals.approve(uow, principal=finance, proposal_id=proposal.id)
            uow.commit()
        return "approved"

    outcomes = race(8, attempt)
    assert outcomes == {"approved": 1, "budget.proposal_decided": 7}
    with UnitOfWork(committed, None, cipher) as uow:
        pool = uow.session.get(BudgetPool, pool_id)
        assert pool is not None and pool.allocated == Decimal("100.00")
        assert uow.session.scalar(select(func.count()).select_from(BudgetEntry).where(
            BudgetEntry.pool_id == pool_id, BudgetEntry.kind == "allocate")) == 1
