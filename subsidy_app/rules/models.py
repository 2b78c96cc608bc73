"""Rule tables: published rule versions, personal quota counters and holds, budget pools and their ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, Money, utcnow


class RuleVersionRecord(Base):
    """A published rule version: its file content as loaded, immutable once stored."""

    __tablename__ = "rule_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    series: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    programme: Mapped[str] = mapped_column(String(30), index=True)
    effective_from: Mapped[dt.date]
    effective_to: Mapped[dt.date | None]
    apply_by: Mapped[dt.date | None]
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QuotaCounter(Base):
    """How many of a person's subsidies are held or confirmed per programme × category × period."""

    __tablename__ = "quota_counter"
    __table_args__ = (CheckConstraint("used >= 0 AND used <= max_count", name="within_limit"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    programme: Mapped[str] = mapped_column(String(30), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
    max_count: Mapped[int]


class QuotaHold(Base):
    """One use of a person's quota by one application or sale: held → confirmed, or released."""

    __tablename__ = "quota_hold"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(80), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    programme: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(40))
    period_key: Mapped[str] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(20))  # held | confirmed | released | refunded
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BudgetPool(Base):
    """Money for one programme in one county; reserved + spent never exceed allocated."""

    __tablename__ = "budget_pool"
    __table_args__ = (
        UniqueConstraint("programme", "county_code", "name"),
        CheckConstraint("reserved >= 0 AND spent >= 0 AND allocated >= 0", name="non_negative"),
        CheckConstraint("reserved + spent <= allocated", name="not_overcommitted"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    programme: Mapped[str] = mapped_column(String(30))
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    allocated: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reserved: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    spent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    central: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    provincial: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    city: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    notified_level: Mapped[int] = mapped_column(default=0)  # highest use threshold (%) already notified
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BudgetEntry(Base):
    """Append-only ledger line: allocate, reserve, release, spend or adjust."""

    __tablename__ = "budget_entry"
    __table_args__ = (Index("ix_budget_entry_pool_kind_at", "pool_id", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("budget_pool.id"))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Money)
    source: Mapped[str | None] = mapped_column(String(20))  # central | provincial | city (allocations)
    reference: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BudgetReservation(Base):
    """An approval's claim on a pool: queued (first come, by submission time), reserved, spent or released."""

    __tablename__ = "budget_reservation"
    __table_args__ = (Index("ix_budget_reservation_queue", "pool_id", "state", "submitted_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("budget_pool.id"))
    reference: Mapped[str] = mapped_column(String(80), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(12))  # queued | reserved | spent | released | cancelled
    submitted_at: Mapped[dt.datetime]
    on_funded_job: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    funded_at: Mapped[dt.datetime | None]

class BudgetTranche(Base):
    """A slice of a pool's free money set aside for instant discounts (budget escrow, rules.escrow).

    Its balance is already counted in its pool's `reserved`, so the pool row alone keeps reserved + spent <=
    allocated; a discount taken from a tranche moves money from the balance to its own reservation and leaves the
    pool row untouched, so concurrent tills of one county meet on different rows.
    """

    __tablename__ = "budget_tranche"
    __table_args__ = (CheckConstraint("balance >= 0", name="non_negative"),)

    pool_id: Mapped[int] = mapped_column(ForeignKey("budget_pool.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class BudgetProposal(Base):
    """A top-up or reallocation one officer proposes and a different officer approves; only then money moves."""

    __tablename__ = "budget_proposal"
    __table_args__ = (
        CheckConstraint("kind IN ('top_up', 'reallocate')", name="kind"),
        CheckConstraint("state IN ('proposed', 'approved', 'rejected')", name="state"),
        CheckConstraint("amount > 0", name="positive"),
        Index("ix_budget_proposal_pool_state", "pool_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))
    pool_id: Mapped[int] = mapped_column(ForeignKey("budget_pool.id"))  # the pool the money goes to
    from_pool_id: Mapped[int | None] = mapped_column(ForeignKey("budget_pool.id"), index=True)  # reallocations
    source: Mapped[str | None] = mapped_column(String(20))  # central | provincial | city (top-ups)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(10), default="proposed")
    proposed_by_account: Mapped[int] = mapped_column(BigId)
    proposed_by: Mapped[str] = mapped_column(String(120))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_account: Mapped[int | None] = mapped_column(BigId)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(300))


# What each constraint's refusal means to the client (see core.constraints).
register('uq_rule_version_code', 'rule_version.code_exists',
         '该规则版本代码已存在 / this rule version code already exists')
register('pk_quota_counter', 'quota.counter_exists',
         '名额计数已建立,请重试 / the quota counter was just created, retry')
register('ck_quota_counter_within_limit', 'quota.exhausted',
         '该品类名额已用完 / the quota for this category is used up')
register('uq_quota_hold_reference', 'quota.already_held',
         '该申请已占用名额 / this application already holds a quota unit')
register('uq_budget_pool_programme_county_code_name', 'budget.pool_exists',
         '同名资金池已存在 / a pool with this name already exists')
register('ck_budget_pool_not_overcommitted', 'budget.exhausted',
         '资金池余额不足 / the budget pool is exhausted')
register('ck_budget_pool_non_negative', 'budget.negative',
         "资金池金额不能为负 / pool amounts can't be negative", field='allocated')
register('uq_budget_reservation_reference', 'budget.already_reserved',
         '该申请已预留资金 / this application already has a reservation')
register('ck_budget_proposal_kind', 'budget.proposal_kind',
         '申请类型应为追加资金或资金调剂 / a proposal is a top-up or a reallocation', field='kind')
register('ck_budget_proposal_state', 'budget.proposal_state',
         '资金申请状态无效 / not a proposal state')
register('ck_budget_proposal_positive', 'budget.proposal_amount',
         '金额须大于零 / the amount must be positive', field='amount')
register('ck_budget_tranche_non_negative', 'budget.exhausted',
         '本区县补贴资金已用完 / the subsidy budget of this county is used up')  # never raised: takes are conditional
register('pk_budget_tranche', 'budget.tranche_clash',
         '资金分片冲突,请重试 / budget tranche clash, retry')  # never raised: a refill adds to its row
