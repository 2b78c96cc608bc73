"""Complaint and appeal tables: the case and its steps (the resident's and staff's history of it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow

# One appeal still being dealt with per application (a closed or withdrawn one lets the resident appeal anew).
_OPEN_APPEAL = text("kind = 'appeal' AND state NOT IN ('closed', 'withdrawn')")


class ComplaintCase(Base):
    """A complaint (投诉) or an appeal (申诉): numbered, assigned, answered within a deadline of working days."""

    __tablename__ = "complaint_case"
    __table_args__ = (
        Index("uq_complaint_case_open_appeal", "application_id", unique=True,
              postgresql_where=_OPEN_APPEAL, sqlite_where=_OPEN_APPEAL),
        Index("ix_complaint_case_county_state", "county_code", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # TS2026000123 (complaint), SS2026000123 (appeal)
    kind: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(12))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"))
    # The resident's own words may name people, cards or addresses: sealed with the personal-data cipher.
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    contact_ok: Mapped[bool] = mapped_column(default=False)  # the resident agreed to be called back
    state: Mapped[str] = mapped_column(String(12), index=True)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    deadline: Mapped[dt.date]  # the last Beijing working day for the answer
    overdue: Mapped[bool] = mapped_column(default=False)
    overdue_since: Mapped[dt.datetime | None]
    needs_city: Mapped[bool] = mapped_column(default=False)  # no eligible senior auditor in the county: city bureau
    reply: Mapped[str | None] = mapped_column(String(500))  # what the resident is told (staff keep it factual)
    outcome: Mapped[str | None] = mapped_column(String(14))  # an appeal's: upheld | dismissed | not_reopened
    filed_by: Mapped[str] = mapped_column(String(120))
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]


class ComplaintStep(Base):
    """One step of a case: filed, assigned, answered, closed, withdrawn, the appeal's outcome."""

    __tablename__ = "complaint_step"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_case.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(500))  # the reply or the outcome, as the resident reads it
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


register('uq_complaint_case_number', 'complaint.number_exists', '案件编号冲突,请重试 / case number clash, retry')
register('uq_complaint_case_open_appeal', 'appeal.already_open',
         '该申请已有正在处理的申诉 / this application already has an appeal being dealt with')
