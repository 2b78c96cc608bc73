"""Budget pools' pages and the maker-checker rule: one officer proposes a top-up or reallocation, another approves."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from subsidy_app.core.errors import Conflict, Forbidden
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.rules import budget, budget_proposals
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetProposal
from tests.helpers import login


@pytest.fixture
def pools(uow: UnitOfWork, demo: dict[str, int]) -> dict[str, int]:
    lishi = budget.create_pool(uow, actor="t", programme="appliance", county_code="141102", name="离石家电")
    budget.allocate(uow, actor="t", pool_id=lishi, amount=Decimal("1000.00"), source="central")
    spare = budget.create_pool(uow, actor="t", programme="digital", county_code="141102", name="离石数码")
    budget.allocate(uow, actor="t", pool_id=spare, amount=Decimal("500.00"), source="city")
    xiaoyi = budget.create_pool(uow, actor="t", programme="appliance", county_code="141181", name="孝义家电")
    uow.commit()
    return {"lishi": lishi, "spare": spare, "xiaoyi": xiaoyi}


def _principal(uow: UnitOfWork, demo: dict[str, int], name: str):
    principal = load_principal(uow, account_id=demo[name])
    assert principal is not None
    return principal


def _pool(uow: UnitOfWork, pool_id: int) -> BudgetPool:
    uow.session.expire_all()
    pool = uow.session.get(BudgetPool, pool_id)
    assert pool is not None
    return pool


def _entries(uow: UnitOfWork, pool_id: int) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(BudgetEntry).where(BudgetEntry.pool_id == pool_id))
               or 0)


def test_the_proposer_cannot_approve_their_own_top_up_and_nothing_moves(uow, demo, pools) -> None:
    admin = _principal(uow, demo, "admin")
    made = budget_proposals.propose(uow, principal=admin, pool_id=pools["lishi"], kind="top_up",
                                    amount=Decimal("200.00"), source="provincial", reason="省级第二批资金")
    with pytest.raises(Forbidden) as refused:
        budget_proposals.approve(uow, principal=admin, proposal_id=made.id)
    assert refused.value.reason == "budget.own_proposal"
    assert _pool(uow, pools["lishi"]).allocated == Decimal("1000.00")


def test_another_officer_approves_once_and_a_replay_changes_nothing(uow, demo, pools) -> None:
    made = budget_proposals.propose(uow, principal=_principal(uow, demo, "admin"), pool_id=pools["lishi"],
                                    kind="top_up", amount=Decimal("200.00"), source="provincial", reason="省级资金")
    uow.commit()
    before = _entries(uow, pools["lishi"])
    finance = _principal(uow, demo, "finance.city")
    budget_proposals.approve(uow, principal=finance, proposal_id=made.id)
    uow.commit()
    with pytest.raises(Conflict) as again:
        budget_proposals.approve(uow, principal=finance, proposal_id=made.id)
    assert again.value.reason == "budget.proposal_decided"
    pool = _pool(uow, pools["lishi"])
    assert (pool.allocated, pool.provincial, _entries(uow, pools["lishi"])) == (Decimal("1200.00"),
                                                                                Decimal("200.00"), before + 1)


def test_a_reallocation_moves_money_between_pools_only_when_approved(uow, demo, pools) -> None:
    made = budget_proposals.propose(uow, principal=_principal(uow, demo, "finance.city"), pool_id=pools["lishi"],
                                    kind="reallocate", amount=Decimal("300.00"), from_pool_id=pools["spare"],
                                    reason="数码资金结余调剂至家电")
    assert (_pool(uow, pools["lishi"]).allocated, _pool(uow, pools["spare"]).allocated) == (
        Decimal("1000.00"), Decimal("500.00"))
    budget_proposals.approve(uow, principal=_principal(uow, demo, "admin"), proposal_id=made.id)
    assert (_pool(uow, pools["lishi"]).allocated, _pool(uow, pools["spare"]).allocated) == (
        Decimal("1300.00"), Decimal("200.00"))


def test_a_reallocation_cannot_take_more_than_is_uncommitted(uow, demo, pools) -> None:
    made = budget_proposals.propose(uow, principal=_principal(uow, demo, "finance.city"), pool_id=pools["lishi"],
                                    kind="reallocate", amount=Decimal("600.00"), from_pool_id=pools["spare"],
                                    reason="调剂")
    with pytest.raises(Conflict) as refused:
        budget_proposals.approve(uow, principal=_principal(uow, demo, "admin"), proposal_id=made.id)
    assert refused.value.reason == "budget.overcommitted"


@pytest.mark.parametrize(("path", "allowed", "refused"), [
    ("/budget/pools", "leader.city", "dealer.appliance"),
    ("/budget/pools", "auditor.lishi", "recycler.dismantler"),
])
def test_the_pool_list_renders_for_bureau_roles_only(client: FlaskClient, pools, path, allowed, refused) -> None:
    csrf = login(client, allowed)
    page = client.get(path)
    assert page.status_code == 200 and "离石家电" in page.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf})
    login(client, refused)
    assert client.get(path).status_code == 403


def test_a_county_auditor_sees_only_their_countys_pools(client: FlaskClient, pools) -> None:
    login(client, "auditor.lishi")
    page = client.get("/budget/pools").get_data(as_text=True)
    assert "离石家电" in page and "孝义家电" not in page
    assert client.get(f"/budget/pools/{pools['xiaoyi']}").status_code == 404
    pool_page = client.get(f"/budget/pools/{pools['lishi']}")
    assert pool_page.status_code == 200 and "资金台账" in pool_page.get_data(as_text=True)
    assert 'id="proposal-form"' not in pool_page.get_data(as_text=True)  # auditors read, officers propose


def test_a_bad_proposal_re_renders_with_each_field_named_and_writes_nothing(client: FlaskClient, uow, pools) -> None:
    csrf = login(client, "admin")
    response = client.post(f"/budget/pools/{pools['lishi']}/proposals", data={
        "csrf_token": csrf, "kind": "top_up", "amount": "12.345", "source": "", "reason": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("amount", "source", "reason"):
        assert f'id="{field}-error"' in body
    assert uow.session.scalar(select(func.count()).select_from(BudgetProposal)) == 0


def test_proposed_by_one_officer_and_approved_by_another_through_the_pages(client: FlaskClient, uow, pools) -> None:
    csrf = login(client, "admin")
    made = client.post(f"/budget/pools/{pools['lishi']}/proposals", data={
        "csrf_token": csrf, "kind": "top_up", "amount": "250.00", "source": "city", "reason": "市级配套资金"})
    assert made.status_code == 302
    proposal = uow.session.scalar(select(BudgetProposal))
    assert proposal is not None and proposal.state == "proposed"
    page = client.get(f"/budget/pools/{pools['lishi']}").get_data(as_text=True)
    assert f'id="approve-{proposal.id}"' not in page and "须由他人审批" in page
    own = client.post(f"/budget/pools/{pools['lishi']}/proposals/{proposal.id}/approve", data={"csrf_token": csrf})
    assert own.status_code == 403 and "另一名" in own.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "finance.city")
    page = client.get(f"/budget/pools/{pools['lishi']}").get_data(as_text=True)
    key = re.search(rf'/proposals/{proposal.id}/approve" class="inline">\s*<input[^>]+>'
                    r'<input type="hidden" name="form_key" value="([^"]+)"', page)
    assert key, "the approve form carries a one-time key"
    form = {"csrf_token": csrf, "form_key": key.group(1)}
    first = client.post(f"/budget/pools/{pools['lishi']}/proposals/{proposal.id}/approve", data=form)
    second = client.post(f"/budget/pools/{pools['lishi']}/proposals/{proposal.id}/approve", data=form)  # double click
    assert first.status_code == 302 and second.status_code in (302, 409)
    assert _pool(uow, pools["lishi"]).allocated == Decimal("1250.00")
    assert client.get(f"/budget/pools/{pools['lishi']}/proposals/{proposal.id}/approve").status_code == 405


def test_a_proposal_of_another_pool_or_county_is_not_found(client: FlaskClient, uow, demo, pools) -> None:
    made = budget_proposals.propose(uow, principal=_principal(uow, demo, "admin"), pool_id=pools["xiaoyi"],
                                    kind="top_up", amount=Decimal("1.00"), source="city", reason="r")
    uow.commit()
    csrf = login(client, "finance.city")
    wrong_pool = client.post(f"/budget/pools/{pools['lishi']}/proposals/{made.id}/approve", data={"csrf_token": csrf})
    assert wrong_pool.status_code == 404
    assert _pool(uow, pools["xiaoyi"]).allocated == Decimal("0.00")


def test_a_reallocation_proposed_and_rejected_through_the_pages_moves_nothing(client: FlaskClient, uow, pools
                                                                               ) -> None:
    csrf = login(client, "finance.city")
    same = client.post(f"/budget/pools/{pools['lishi']}/proposals", data={
        "csrf_token": csrf, "kind": "reallocate", "amount": "100.00", "from_pool_id": str(pools["lishi"]),
        "reason": "调剂"})
    assert same.status_code == 422 and 'id="from_pool_id-error"' in same.get_data(as_text=True)
    made = client.post(f"/budget/pools/{pools['lishi']}/proposals", data={
        "csrf_token": csrf, "kind": "reallocate", "amount": "100.00", "from_pool_id": str(pools["spare"]),
        "reason": "数码结余调剂"})
    assert made.status_code == 302
    proposal = uow.session.scalar(select(BudgetProposal))
    assert proposal is not None and proposal.from_pool_id == pools["spare"]
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "admin")
    assert "数码结余调剂" in client.get(f"/budget/pools/{pools['spare']}").get_data(as_text=True)  # the source sees it
    no_note = client.post(f"/budget/pools/{pools['lishi']}/proposals/{proposal.id}/reject", data={"csrf_token": csrf})
    assert no_note.status_code == 422 and 'id="note-error"' in no_note.get_data(as_text=True)
    done = client.post(f"/budget/pools/{pools['lishi']}/proposals/{proposal.id}/reject",
                       data={"csrf_token": csrf, "note": "结余须留作年底清算"})
    assert done.status_code == 302
    uow.session.expire_all()
    assert uow.session.get(BudgetProposal, proposal.id).state == "rejected"
    assert (_pool(uow, pools["lishi"]).allocated, _pool(uow, pools["spare"]).allocated) == (
        Decimal("1000.00"), Decimal("500.00"))


def test_the_ledger_is_paginated_fifty_lines_a_page(client: FlaskClient, uow, pools) -> None:
    for _ in range(55):
        budget.allocate(uow, actor="t", pool_id=pools["spare"], amount=Decimal("1.00"), source="city")
    uow.commit()
    login(client, "auditor.lishi")
    first = client.get(f"/budget/pools/{pools['spare']}").get_data(as_text=True)
    assert "共 56 条" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert first.split('id="ledger-list"')[1].count("<tr>") == 51  # the header and fifty lines
    second = client.get(f"/budget/pools/{pools['spare']}?page=2").get_data(as_text=True)
    assert second.split('id="ledger-list"')[1].count("<tr>") == 7 and 'rel="prev"' in second
