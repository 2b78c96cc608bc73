"""Recycling tables: qualifications, sites, scrap certificates, intakes, stock, transfers, rollups, targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, Weight, utcnow
from subsidy_app.core.uploads import stored_upload


class Qualification(Base):
    """A recycler's licence or filing, with its number and validity."""

    __tablename__ = "recycler_qualification"
    __table_args__ = (UniqueConstraint("kind", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    number: Mapped[str] = mapped_column(String(60))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Site(Base):
    """A drop-off point, transfer station or sorting centre of a recycler, in a county."""

    __tablename__ = "recycling_site"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),
                      CheckConstraint("kind IN ('vehicles', 'renewable', 'general')", name="kind"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(12), server_default="general")  # site_kinds.SiteKind: what it takes in
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScrapCertificate(Base):
    """A scrap certificate (报废机动车回收证明) issued by a licensed dismantler; personal data encrypted."""

    __tablename__ = "scrap_certificate"
    __table_args__ = (
        UniqueConstraint("dismantler_org_id", "number"),
        CheckConstraint("state IN ('issued', 'used', 'revoked')", name="state"),
        # One live certificate per vehicle: a revoked one frees the VIN for a corrected re-issue.
        Index("uq_scrap_certificate_vin_live", "vin", unique=True, postgresql_where=text("state <> 'revoked'"),
              sqlite_where=text("state <> 'revoked'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dismantler_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("recycler_qualification.id"))
    licence_valid_on_issue: Mapped[bool]
    number: Mapped[str] = mapped_column(String(60))
    verify_key: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="issued")
    owner_kind: Mapped[str] = mapped_column(String(12))  # "person" | "organisation"
    owner_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    owner_name_masked: Mapped[str] = mapped_column(String(100))
    owner_id_hash: Mapped[str] = mapped_column(String(64), index=True)
    owner_id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    owner_id_masked: Mapped[str] = mapped_column(String(18))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    handover_date: Mapped[dt.date] = mapped_column(Date)
    first_registration_date: Mapped[dt.date] = mapped_column(Date)
    plate: Mapped[str] = mapped_column(String(10))
    vehicle_type: Mapped[str] = mapped_column(String(30))
    use_type: Mapped[str] = mapped_column(String(2))
    make_model: Mapped[str] = mapped_column(String(100))
    vin: Mapped[str] = mapped_column(String(17), index=True)
    curb_weight_kg: Mapped[Decimal] = mapped_column(Weight)
    fuel_type: Mapped[str] = mapped_column(String(2))
    engine_number: Mapped[str] = mapped_column(String(40))
    battery_code: Mapped[str | None] = mapped_column(String(60))
    site_id: Mapped[int] = mapped_column(ForeignKey("recycling_site.id"))
    used_by_ref: Mapped[str | None] = mapped_column(String(80))
    used_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None]
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IntakeImport(Base):
    """A bulk intake file: its fingerprint (accepted files only), mode, outcome and row errors."""

    __tablename__ = "intake_import"
    __table_args__ = (UniqueConstraint("organisation_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # set once rows were written
    filename: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # queued | done | rejected
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed, kept only while a job is queued
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_written: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


stored_upload(IntakeImport.content, finished=None)  # its job clears the bytes when it ends


class Intake(Base):
    """What a site took in; a correction is a new record reversing an old one (negated quantities)."""

    __tablename__ = "intake_record"
    __table_args__ = (Index("ix_intake_record_county_day", "county_code", "occurred_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("recycling_site.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    source: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    units: Mapped[int] = mapped_column(Integer)
    weight_kg: Mapped[Decimal] = mapped_column(Weight)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("scrap_certificate.id"), index=True)
    trade_in_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("intake_record.id"), unique=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("intake_import.id"), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SiteStock(Base):
    """What a site holds of a category; the CHECK makes overdrawing impossible even for a buggy caller."""

    __tablename__ = "site_stock"
    __table_args__ = (
        CheckConstraint("units >= 0", name="units_not_negative"),
        CheckConstraint("weight_kg >= 0", name="weight_not_negative"),
    )

    site_id: Mapped[int] = mapped_column(ForeignKey("recycling_site.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)
    weight_kg: Mapped[Decimal] = mapped_column(Weight, default=Decimal("0"))


class Transfer(Base):
    """Material moved from one site to another (up the network)."""

    __tablename__ = "site_transfer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    from_site_id: Mapped[int] = mapped_column(ForeignKey("recycling_site.id"), index=True)
    to_site_id: Mapped[int] = mapped_column(ForeignKey("recycling_site.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    units: Mapped[int] = mapped_column(Integer)
    weight_kg: Mapped[Decimal] = mapped_column(Weight)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VolumeRollup(Base):
    """Recovery volumes per county × category × day, kept in the intake's transaction."""

    __tablename__ = "volume_rollup"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)
    weight_kg: Mapped[Decimal] = mapped_column(Weight, default=Decimal("0"))
    records: Mapped[int] = mapped_column(Integer, default=0)


class MonthlyRollup(Base):
    """The same volumes per county × category × month, so a year's dashboard reads a few thousand rows."""

    __tablename__ = "volume_rollup_month"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # first day of the month
    units: Mapped[int] = mapped_column(Integer, default=0)
    weight_kg: Mapped[Decimal] = mapped_column(Weight, default=Decimal("0"))
    records: Mapped[int] = mapped_column(Integer, default=0)


class UsedCarTransaction(Base):
    """A registered used-car transfer; one VIN transfer on one day counts once."""

    __tablename__ = "used_car_transaction"
    __table_args__ = (UniqueConstraint("vin", "transferred_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    vin: Mapped[str] = mapped_column(String(17))
    transferred_on: Mapped[dt.date] = mapped_column(Date)
    price: Mapped[Decimal]
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    reported_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HandInObligation(Base):
    """A subsidised trade-in whose old item must reach a recycler within N days."""

    __tablename__ = "hand_in_obligation"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed', 'overdue')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trade_in_ref: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # car | appliance
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("scrap_certificate.id"), index=True)
    picked_up_on: Mapped[dt.date | None] = mapped_column(Date)
    matched_intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake_record.id"))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    flagged_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HandInTally(Base):
    """Hand-in duties per county, trade-in day and standing (open, overdue, closed on time or late)."""

    __tablename__ = "hand_in_tally"

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    standing: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class RecyclingSetting(Base):
    """A configurable value of the recycling package (e.g. hand-in days per trade-in kind)."""

    __tablename__ = "recycling_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Baseline(Base):
    """A county's figure for an indicator in the baseline year (2023)."""

    __tablename__ = "recovery_baseline"

    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[Decimal]
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Target(Base):
    """The plan's target for an indicator: baseline × factor by the target year."""

    __tablename__ = "recovery_target"

    indicator: Mapped[str] = mapped_column(String(20), primary_key=True)
    baseline_year: Mapped[int] = mapped_column(Integer)
    target_year: Mapped[int] = mapped_column(Integer)
    factor: Mapped[Decimal] = mapped_column(Weight)
    source: Mapped[str] = mapped_column(String(200))


class RecoveryReport(Base):
    """A generated ten-day or monthly workbook, stored in the database so every web worker can serve it."""

    __tablename__ = "recovery_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(10), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    generated_by: Mapped[str] = mapped_column(String(100))
    generated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

# What each constraint's refusal means to the client (see core.constraints).
register('uq_recycler_qualification_kind_number', 'qualification.number_exists',
         '该资质证书编号已登记 / this licence number is already registered')
register('uq_recycling_site_organisation_id_code', 'site.code_exists',
         '该场地编号已使用 / this site code is already used')
register('uq_scrap_certificate_verify_key', 'certificate.verify_key_exists',
         '核验码冲突,请重试 / verification key clash, retry')
register('uq_scrap_certificate_dismantler_org_id_number', 'certificate.duplicate',
         '证明编号已使用 / this certificate number was already issued')
register('uq_scrap_certificate_vin_live', 'certificate.vin_already_certified',
         '该车辆已出具回收证明 / this VIN already has a live certificate')
register('ck_scrap_certificate_state', 'certificate.state_invalid',
         '证明状态无效 / invalid certificate state', field='state')
register('uq_intake_import_organisation_id_fingerprint', 'intake_import.duplicate',
         '该文件已导入过 / this file was already imported')
register('uq_intake_record_reverses_id', 'intake.already_reversed',
         '该记录已冲销 / this record is already reversed')
register('pk_site_stock', 'stock.exists',
         '库存行已建立,请重试 / the stock row was just created, retry')
register('ck_site_stock_units_not_negative', 'stock.insufficient',
         '场地库存数量不足 / not enough units in stock at this site')
register('ck_site_stock_weight_not_negative', 'stock.insufficient',
         '场地库存重量不足 / not enough weight in stock at this site')
register('pk_volume_rollup', 'rollup.exists',
         '汇总行已建立,请重试 / the roll-up row was just created, retry')
register('pk_volume_rollup_month', 'rollup.exists',
         '汇总行已建立,请重试 / the roll-up row was just created, retry')
register('uq_used_car_transaction_vin_transferred_on', 'used_car.exists',
         "该车当日交易已登记 / this VIN's transfer on that day is already recorded")
register('uq_hand_in_obligation_trade_in_ref', 'hand_in.exists',
         '该以旧换新已登记交旧 / this trade-in already has a hand-in')
register('ck_hand_in_obligation_status', 'hand_in.status_invalid',
         '交旧状态无效 / invalid hand-in status', field='status')
register('pk_recycling_setting', 'setting.exists',
         '该设置已存在 / this setting already exists')
register('pk_recovery_baseline', 'baseline.exists',
         '该基数已登记 / this baseline is already recorded')
register('pk_recovery_target', 'target.exists',
         '该目标已登记 / this target is already recorded')
register('uq_recovery_report_period', 'report.exists',
         "该期报表已生成 / this period's report already exists")
register('pk_hand_in_tally', 'hand_in.tally_clash',
         '统计单元冲突,请重试 / tally cell clash, retry')  # never raised: every write adds to its cell
register('ck_recycling_site_kind', 'site.kind',
         '网点类型应为 vehicles、renewable 或 general / a site kind is vehicles, renewable or general')
