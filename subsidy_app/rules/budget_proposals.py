"""Maker-checker for budget money: one officer proposes a top-up or a reallocation, a different officer approves it.

Only an approval moves the ledger (through budget.allocate / budget.adjust), and exactly once: the proposal row is
locked and must still be `proposed`, so a double click or a replayed request finds it decided and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select

from subsidy_app.audit import services as audit
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES, Principal, Role
from subsidy_app.rules import budget
from subsidy_app.rules.budget_pools import locked_pool, money
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH
from subsidy_app.rules.models import BudgetEntry, BudgetPool, BudgetProposal, BudgetReservation

OFFICERS = frozenset({Role.ADMIN, Role.FINANCE_OFFICER})  # as the allocation API admits
KINDS = ("top_up", "reallocate")
KIND_LABELS_ZH = {"top_up": "追加资金", "reallocate": "资金调剂"}
STATE_LABELS_ZH = {"proposed": "待审批", "approved": "已批准", "rejected": "已驳回"}
SOURCE_LABELS_ZH = {"central": "中央资金", "provincial": "省级资金", "city": "市级资金"}
ENTRY_LABELS_ZH = {"allocate": "下达资金", "adjust": "调整", "reserve": "预占", "release": "释放", "spend": "支付",
                   "refund": "退回"}
RESERVATION_LABELS_ZH = {"queued": "排队等待资金", "reserved": "已预占", "spent": "已支付", "released": "已释放",
                         "cancelled": "已取消", "refunded": "已退回"}


@dataclass(frozen=True)
class ProposalView:
    """A proposal as the pool page shows it."""

    id: int
    kind: str
    pool_id: int
    from_pool_id: int | None
    source: str | None
    amount: Decimal
    reason: str
    state: str
    proposed_by: str
    proposed_by_account: int
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None


@dataclass(frozen=True)
class Page:
    """One page of rows and how many there are in all."""

    rows: list[object]
    total: int


def _view(p: BudgetProposal) -> ProposalView:
    return ProposalView(p.id, p.kind, p.pool_id, p.from_pool_id, p.source, p.amount, p.reason, p.state,
                        p.proposed_by, p.proposed_by_account, p.proposed_at, p.decided_by, p.decided_at,
                        p.decision_note)


def _officer(principal: Principal) -> int:
    """Refuse anyone but a budget officer with an account (the rule compares accounts); return the account id."""
    if not principal.has_any(OFFICERS) or principal.account_id is None:
        raise Forbidden("须由资金管理人员办理 / budget officers only", reason="auth.forbidden")
    return principal.account_id


def _scoped_pool(uow: UnitOfWork, principal: Principal, pool_id: int, field: str = "pool_id") -> BudgetPool:
    pool = uow.session.get(BudgetPool, pool_id)
    if pool is None or not principal.covers_county(pool.county_code):
        if field == "pool_id":
            raise NotFound("资金池不存在 / budget pool not found", reason="budget.pool_not_found")
        raise ValidationFailed.field(field, "调出资金池不存在 / no such pool to move money from",
                                     reason="budget.pool_not_found")
    return pool


def propose(uow: UnitOfWork, *, principal: Principal, pool_id: int, kind: str, amount: Decimal | None,
            reason: str, source: str | None = None, from_pool_id: int | None = None) -> ProposalView:
    """Record a proposal to add money to a pool (top-up from a funding source, or reallocation from another pool)."""
    account = _officer(principal)
    pool = _scoped_pool(uow, principal, pool_id)
    read = FieldErrors()
    if kind not in KINDS:
        read.add("kind", "请选择追加资金或资金调剂 / choose top-up or reallocation")
    value = read.value(lambda: money(amount, "amount"), Decimal("0")) if amount is not None else None
    if amount is None:
        read.add("amount", "必填 / required")
    if not reason.strip():
        read.add("reason", "须说明原因 / a reason is required")
    if kind == "top_up" and source not in budget.SOURCES:
        read.add("source", "请选择资金来源 / choose the funding source")
    if kind == "reallocate":
        if from_pool_id is None:
            read.add("from_pool_id", "请选择调出资金池 / choose the pool to move money from")
        elif from_pool_id == pool.id:
            read.add("from_pool_id", "调出与调入不能是同一资金池 / choose another pool")
        else:
            read.value(lambda: _scoped_pool(uow, principal, from_pool_id, "from_pool_id"), None)
    read.raise_any()
    row = BudgetProposal(kind=kind, pool_id=pool.id, amount=value, reason=reason.strip()[:300], state="proposed",
                         source=source if kind == "top_up" else None,
                         from_pool_id=from_pool_id if kind == "reallocate" else None,
                         proposed_by_account=account, proposed_by=principal.actor)
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="budget.proposed", entity_type="budget_proposal",
                 entity_id=row.id, after={"kind": kind, "pool": pool.id, "from_pool": row.from_pool_id,
                                          "source": row.source, "amount": str(value), "reason": row.reason})
    return _view(row)


def _locked_proposal(uow: UnitOfWork, principal: Principal, proposal_id: int, pool_id: int | None
                     ) -> BudgetProposal:
    # populate_existing: the state must be read under the lock, not from a row the session kept.
    row = uow.session.scalar(select(BudgetProposal).where(BudgetProposal.id == proposal_id).with_for_update()
                             .execution_options(populate_existing=True))
    if row is None or not principal.covers_county(_scoped_county(uow, row.pool_id)) or (
            pool_id is not None and pool_id not in (row.pool_id, row.from_pool_id)):
        raise NotFound("资金申请不存在 / proposal not found", reason="budget.proposal_not_found")
    if row.state != "proposed":
        raise Conflict(f"该申请已{STATE_LABELS_ZH[row.state]},不能再次处理 / this proposal was already decided",
                       reason="budget.proposal_decided")
    return row


def _scoped_county(uow: UnitOfWork, pool_id: int) -> str:
    return str(uow.session.scalar(select(BudgetPool.county_code).where(BudgetPool.id == pool_id)))


def approve(uow: UnitOfWork, *, principal: Principal, proposal_id: int, pool_id: int | None = None) -> list[str]:
    """Approve another officer's proposal and move the money once; return the approvals the money funded."""
    account = _officer(principal)
    row = _locked_proposal(uow, principal, proposal_id, pool_id)
    if row.proposed_by_account == account:
        raise Forbidden("不能审批自己提出的申请,须由另一名人员审批 / another officer must approve your proposal",
                        reason="budget.own_proposal")
    # The ledger line names the proposal and its maker: the approver is the line's actor.
    note = f"资金申请 #{row.id}:{row.reason}(提出:{row.proposed_by.rsplit(':', 1)[-1]})"[:240]
    if row.kind == "top_up":
        funded = budget.allocate(uow, actor=principal.actor, pool_id=row.pool_id, amount=row.amount,
                                 source=str(row.source), reason=note)
    else:
        assert row.from_pool_id is not None  # propose() always names it for a reallocation
        for pool_id in sorted((row.pool_id, row.from_pool_id)):  # one lock order: two reallocations can't deadlock
            locked_pool(uow, pool_id)
        budget.adjust(uow, actor=principal.actor, pool_id=row.from_pool_id, amount=-row.amount,
                      reason=f"{note}(调出至资金池 #{row.pool_id})")
        funded = budget.adjust(uow, actor=principal.actor, pool_id=row.pool_id, amount=row.amount,
                               reason=f"{note}(自资金池 #{row.from_pool_id} 调入)")
    row.state, row.decided_by_account, row.decided_by, row.decided_at = "approved", account, principal.actor, utcnow()
    audit.record(uow, actor=principal.actor, action="budget.proposal_approved", entity_type="budget_proposal",
                 entity_id=row.id, before={"state": "proposed"},
                 after={"state": "approved", "proposed_by": row.proposed_by, "amount": str(row.amount)})
    return funded


def reject(uow: UnitOfWork, *, principal: Principal, proposal_id: int, note: str, pool_id: int | None = None
           ) -> None:
    """Turn a proposal down with a reason (any other officer, or the proposer withdrawing it); no money moves."""
    account = _officer(principal)
    if not note.strip():
        raise ValidationFailed.field("note", "驳回须说明原因 / a rejection needs a reason")
    row = _locked_proposal(uow, principal, proposal_id, pool_id)
    row.state, row.decided_by_account, row.decided_by, row.decided_at = "rejected", account, principal.actor, utcnow()
    row.decision_note = note.strip()[:300]
    audit.record(uow, actor=principal.actor, action="budget.proposal_rejected", entity_type="budget_proposal",
                 entity_id=row.id, before={"state": "proposed"}, after={"state": "rejected", "note": row.decision_note})


def proposal(uow: UnitOfWork, *, proposal_id: int) -> ProposalView:
    """Return one proposal as it stands (the caller has just decided it, in scope)."""
    row = uow.session.get(BudgetProposal, proposal_id, populate_existing=True)
    if row is None:
        raise NotFound("资金申请不存在 / proposal not found", reason="budget.proposal_not_found")
    return _view(row)


def proposals(uow: UnitOfWork, *, pool_id: int, limit: int, offset: int) -> Page:
    """A pool's proposals (money to it or from it), the undecided first, newest first."""
    where = or_(BudgetProposal.pool_id == pool_id, BudgetProposal.from_pool_id == pool_id)
    total = uow.session.scalar(select(func.count()).select_from(BudgetProposal).where(where)) or 0
    rows = uow.session.scalars(select(BudgetProposal).where(where).order_by(
        (BudgetProposal.state == "proposed").desc(), BudgetProposal.id.desc()).limit(limit).offset(offset))
    return Page([_view(r) for r in rows], int(total))


def ledger(uow: UnitOfWork, *, pool_id: int, limit: int, offset: int) -> Page:
    """A pool's ledger lines, newest first."""
    total = uow.session.scalar(select(func.count()).select_from(BudgetEntry).where(BudgetEntry.pool_id == pool_id))
    rows = uow.session.scalars(select(BudgetEntry).where(BudgetEntry.pool_id == pool_id)
                               .order_by(BudgetEntry.id.desc()).limit(limit).offset(offset))
    return Page(list(rows), int(total or 0))


def waiting(uow: UnitOfWork, *, pool_id: int, limit: int) -> Page:
    """The approvals waiting for a pool's money, in the order they will be funded."""
    where = (BudgetReservation.pool_id == pool_id, BudgetReservation.state == "queued")
    total = uow.session.scalar(select(func.count()).select_from(BudgetReservation).where(*where))
    rows = uow.session.scalars(select(BudgetReservation).where(*where).order_by(
        BudgetReservation.submitted_at, BudgetReservation.id).limit(limit))
    return Page(list(rows), int(total or 0))


def pool_names(uow: UnitOfWork, *, principal: Principal) -> dict[int, str]:
    """The pools in the caller's counties by id, named for a reallocation's choice."""
    query = select(BudgetPool.id, BudgetPool.name, BudgetPool.county_code, BudgetPool.programme).order_by(
        BudgetPool.county_code, BudgetPool.programme, BudgetPool.id)
    if not principal.all_counties:
        query = query.where(BudgetPool.county_code.in_(principal.counties))
    return {i: f"{COUNTIES.get(county, county)} · {PROGRAMME_LABELS_ZH.get(programme, programme)} · {name}"
            for i, name, county, programme in uow.session.execute(query)}
