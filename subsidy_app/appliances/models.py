"""Appliance tables: stores, participation, catalogue, subsidised sales, dealer accounts, bulk uploads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, Money, utcnow
from subsidy_app.core.uploads import stored_upload

# A returned item funds nothing any more, so its serial number and invoice may fund a later sale.
_LIVE = text("state <> 'returned'")


class Store(Base):
    """A dealer's shop; its poster QR opens the resident's page for that shop."""

    __tablename__ = "appliance_store"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"))
    address: Mapped[str] = mapped_column(String(300))
    opens_at: Mapped[dt.time | None]
    closes_at: Mapped[dt.time | None]
    poster_code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Participation(Base):
    """A county bureau's decision that a dealer or one store may sell a category with a subsidy."""

    __tablename__ = "appliance_participation"
    __table_args__ = (UniqueConstraint("scope_key", "programme", "category"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope_key: Mapped[str] = mapped_column(String(40))  # "dealer:<id>" or "store:<id>"
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("appliance_store.id"))
    programme: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Product(Base):
    """A catalogue product by its 13-digit GTIN, with its efficiency grade and reference price."""

    __tablename__ = "appliance_product"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    gtin: Mapped[str] = mapped_column(String(13), unique=True)
    category: Mapped[str] = mapped_column(String(40))
    brand: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    energy_grade: Mapped[int | None]
    water_grade: Mapped[int | None]
    reference_price: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApplianceSale(Base):
    """A subsidised sale: an instant discount granted at the till, or a purchase the buyer may claim for."""

    __tablename__ = "appliance_sale"
    __table_args__ = (
        Index("uq_appliance_sale_serial_live", "serial_key", unique=True, postgresql_where=_LIVE,
              sqlite_where=_LIVE),
        Index("uq_appliance_sale_invoice_live", "invoice_key", unique=True, postgresql_where=_LIVE,
              sqlite_where=_LIVE),
        Index("ix_appliance_sale_settle", "dealer_org_id", "programme", "state", "sold_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    mode: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12))
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("appliance_store.id"), index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    programme: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(40))
    gtin: Mapped[str] = mapped_column(String(13))
    serial_key: Mapped[str] = mapped_column(String(40))
    invoice_key: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    version_code: Mapped[str] = mapped_column(String(60))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    apply_code: Mapped[str] = mapped_column(String(32), unique=True)  # what the receipt's signed QR carries
    signals: Mapped[list[Any]]
    statement_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # the settlement application
    clawback_statement_id: Mapped[int | None] = mapped_column(BigInteger)
    upload_id: Mapped[int | None] = mapped_column(BigInteger)
    sold_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    returned_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))


class SerialReport(Base):
    """A dealer's attempt to report a serial number another sale already holds (a fraud signal)."""

    __tablename__ = "appliance_serial_report"
    __table_args__ = (UniqueConstraint("serial_key", "dealer_org_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    serial_key: Mapped[str] = mapped_column(String(40), index=True)
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DealerAccount(Base):
    """The bank account settlements pay a dealer into (encrypted, masked for display)."""

    __tablename__ = "appliance_dealer_account"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True)
    account_name: Mapped[str] = mapped_column(String(200))
    bank_name: Mapped[str] = mapped_column(String(200))
    account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    account_masked: Mapped[str] = mapped_column(String(40))
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BulkUpload(Base):
    """A dealer's day-of-sales file, kept by hash so a re-upload is recognised and changes nothing."""

    __tablename__ = "appliance_bulk_upload"
    __table_args__ = (UniqueConstraint("dealer_org_id", "sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("appliance_store.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed; dropped after the retention period
    state: Mapped[str] = mapped_column(String(12))  # queued | done
    report: Mapped[dict[str, Any] | None]
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]



class SignalTally(Base):
    """Subsidised sales showing each fraud signal, per county and Beijing sale day: the dashboard's figures."""

    __tablename__ = "appliance_signal_tally"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)

stored_upload(BulkUpload.content, finished=BulkUpload.finished_at)

# What each constraint's refusal means to the client (see core.constraints).
register('uq_appliance_product_gtin', 'product.gtin_exists',
         '该商品条码已登记 / this GTIN is already registered')
register('uq_appliance_store_poster_code', 'store.poster_code_exists',
         '海报码冲突,请重试 / poster code clash, retry')
register('uq_appliance_participation_scope_key_programme_category', 'participation.exists',
         '已报名该品类 / already enrolled for this category')
register('uq_appliance_sale_apply_code', 'sale.apply_code_exists',
         '申领码冲突,请重试 / apply code clash, retry')
register('uq_appliance_sale_number', 'sale.number_exists',
         '销售单号冲突,请重试 / sale number clash, retry')
register('uq_appliance_sale_serial_live', 'device.already_subsidised',
         '该序列号/IMEI 已享受过补贴 / this serial number or IMEI already funded a subsidy')
register('uq_appliance_sale_invoice_live', 'invoice.already_subsidised',
         '该发票已享受过补贴 / this invoice already funded a subsidy')
register('uq_appliance_serial_report_serial_key_dealer_org_id', 'device.clash_noted',
         '该序列号冲突已记录 / this serial clash is already noted')
register('uq_appliance_dealer_account_dealer_org_id', 'dealer_account.exists',
         '该经销商已登记收款账户 / this dealer already has a payee account')
register('uq_appliance_bulk_upload_dealer_org_id_sha256', 'upload.duplicate',
         '该文件已上传过 / this file was already uploaded')
register('pk_appliance_signal_tally', 'signal.tally_clash',
         '统计单元冲突,请重试 / tally cell clash, retry')  # never raised: every write adds to its cell
