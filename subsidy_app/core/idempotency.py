"""Idempotency records: the first response to a state-changing request, replayed for its key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow


class IdempotencyRecord(Base):
    """A key seen with a request; inserted in the same transaction as the request's writes."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

# What each constraint's refusal means to the client (see core.constraints).
register('uq_idempotency_record_scope_key', 'idempotency.in_progress',
         '相同幂等键的请求正在处理 / a request with this Idempotency-Key is in progress')
