"""Identity tables: counties, organisations, staff accounts, API tokens, persons and bank cards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, utcnow


class County(Base):
    """A county-level area of the city."""

    __tablename__ = "county"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


class Organisation(Base):
    """A dealer, recycler, bureau or finance office, with its credit code and county."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    credit_code_warning: Mapped[str | None] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    city_level: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Account(Base):
    """A staff login, scoped to its organisation and counties."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated Role values
    counties: Mapped[str] = mapped_column(String(200), default="")  # comma-separated county codes
    all_counties: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set by a password reset and by an admin choosing the first password: someone else knows it, so the web
    # pages admit the holder only to choose their own (subsidy_app.access.enforce).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


class ApiToken(Base):
    """A token for a dealer's or recycler's system; only its hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class Person(Base):
    """A resident or scrap seller: ID number encrypted, matched by keyed hash, shown masked."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_masked: Mapped[str] = mapped_column(String(60))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    birth_date: Mapped[dt.date]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BankCard(Base):
    """A person's own bank card, stored like an ID number."""

    __tablename__ = "bank_card"
    __table_args__ = (UniqueConstraint("person_id", "card_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    card_hash: Mapped[str] = mapped_column(String(64), index=True)  # one card named by two people is a signal
    card_enc: Mapped[bytes] = mapped_column(LargeBinary)
    card_masked: Mapped[str] = mapped_column(String(24))
    bank_name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """A message for a county bureau's staff (budget thresholds, overdue hand-ins, ...)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(2000))
    entity_type: Mapped[str | None] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]

# What each constraint's refusal means to the client (see core.constraints).
register('pk_county', 'county.exists',
         '该区县代码已存在 / this county code already exists')
register('uq_county_name', 'county.name_exists',
         '该区县名称已存在 / this county name already exists')
register('uq_organisation_credit_code', 'organisation.credit_code_exists',
         '该统一社会信用代码已登记 / this unified social credit code is already registered')
register('uq_account_username', 'account.username_taken',
         '该用户名已被使用 / this username is taken')
register('uq_api_token_prefix', 'api_token.exists',
         '令牌前缀冲突,请重试 / token prefix clash, retry')
register('uq_person_id_number_hash', 'person.exists',
         '该身份证号已登记 / this ID number is already registered')
register('uq_bank_card_person_id_card_hash', 'bank_card.exists',
         '该银行卡已登记 / this bank card is already registered')
