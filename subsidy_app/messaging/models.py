"""Messaging tables: the local SMS outbox and one-time codes (hashed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow


class SmsMessage(Base):
    """A text the local gateway "sent": phone encrypted, hashed and masked; a one-time code masked in production."""

    __tablename__ = "sms_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str | None] = mapped_column(String(60), unique=True)  # the outbox job, against resends
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class OneTimeCode(Base):
    """A one-time code: only its keyed hash is stored, with its expiry and failed attempts."""

    __tablename__ = "one_time_code"
    __table_args__ = (Index("ix_one_time_code_phone_purpose", "phone_hash", "purpose"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(40))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[dt.datetime | None]  # used, or replaced by a newer code

# What each constraint's refusal means to the client (see core.constraints).
register('uq_sms_message_request_id', 'sms.already_sent',
         '该短信已发送 / this message was already sent')
