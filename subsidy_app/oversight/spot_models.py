"""Spot-check tables: sampling plans, their sampled items, each item's tasks and every recorded result."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, Money, utcnow


class SpotPlan(Base):
    """The city bureau's sampling plan for one programme and period (Beijing days), at a rate in percent."""

    __tablename__ = "spot_plan"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    programme: Mapped[str] = mapped_column(String(30))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    state: Mapped[str] = mapped_column(String(10))  # draft | drawn | closed
    note: Mapped[str | None] = mapped_column(String(300))
    seed: Mapped[str | None] = mapped_column(String(64))  # recorded on the draw: the same seed redraws the sample
    population: Mapped[int | None]
    sampled: Mapped[int | None]
    strata: Mapped[list[Any] | None]  # [{county_code, dealer_org_id, population, drawn}] as drawn
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    drawn_by: Mapped[str | None] = mapped_column(String(120))
    drawn_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]


class SpotItem(Base):
    """One sampled trade-in: a resident's application or an instant-discount sale, and its conclusion."""

    __tablename__ = "spot_item"
    __table_args__ = (UniqueConstraint("plan_id", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_plan.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(12))  # application | sale
    subject_id: Mapped[int] = mapped_column(BigInteger)
    subject_number: Mapped[str] = mapped_column(String(24))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    dealer_org_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(14))  # random | fraud_signal | overridden
    state: Mapped[str] = mapped_column(String(8))  # open | genuine | false
    conclusion_reason: Mapped[str | None] = mapped_column(String(500))
    clawed_back: Mapped[Decimal | None] = mapped_column(Money)
    concluded_by: Mapped[str | None] = mapped_column(String(120))
    concluded_at: Mapped[dt.datetime | None]


class SpotTask(Base):
    """One check of an item (call-back, document re-check, site visit) and its outcome once done."""

    __tablename__ = "spot_task"
    __table_args__ = (UniqueConstraint("item_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("spot_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # callback | documents | site_visit
    state: Mapped[str] = mapped_column(String(6))  # open | done
    outcome: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[dt.datetime | None]


class SpotResult(Base):
    """Each attempt or result recorded on a task (an unanswered call is one row), with who recorded it."""

    __tablename__ = "spot_result"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("spot_task.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


register("uq_spot_item_plan_id_subject_kind_subject_id", "spot.item_exists",
         "该业务已在本次抽查中 / this trade-in is already in the sample")
register("uq_spot_task_item_id_kind", "spot.task_exists", "该核查任务已存在 / this task already exists")
