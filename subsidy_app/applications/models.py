"""Application tables: dealers' car sales, applications, their checks and reviews, payment batches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, Money, utcnow
from subsidy_app.core.uploads import stored_upload

# Applications that still hold what they name (certificate, new VIN): everything but the final refusals.
_ACTIVE = text("state NOT IN ('rejected', 'withdrawn', 'revoked')")


class CarSale(Base):
    """A new car a dealer sold; its QR code lets the buyer apply."""

    __tablename__ = "car_sale"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dealer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"))
    apply_code: Mapped[str] = mapped_column(String(32), unique=True)  # what the signed QR token carries
    new_vin: Mapped[str] = mapped_column(String(17), unique=True)
    invoice_key: Mapped[str] = mapped_column(String(40), unique=True)  # number, or code-number for legacy
    invoice_date: Mapped[dt.date]
    invoice_total: Mapped[Decimal] = mapped_column(Money)
    price_excl_tax: Mapped[Decimal | None] = mapped_column(Money)
    new_vehicle_type: Mapped[str] = mapped_column(String(10))  # nev | fuel
    nev_catalogue_ref: Mapped[str | None] = mapped_column(String(60))
    displacement_l: Mapped[Decimal | None] = mapped_column(Money)
    buyer_id_hash: Mapped[str] = mapped_column(String(64), index=True)
    buyer_id_masked: Mapped[str] = mapped_column(String(18))
    buyer_name_masked: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Application(Base):
    """A resident's subsidy application; every state change goes through the one transition function."""

    __tablename__ = "application"
    __table_args__ = (
        Index("uq_application_certificate_active", "certificate_id", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        Index("uq_application_new_vin_active", "new_vin", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        Index("ix_application_queue", "county_code", "state", "submitted_at"),
        # The review-time statistics: a county's range of first decisions, read from the index alone.
        Index("ix_application_review_time", "county_code", "first_decided_at", "review_started_at"),
        # Appliances (issue 5): a claim-after-purchase sale is claimed by at most one live application.
        Index("uq_application_appliance_sale_active", "appliance_sale_id", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    status_code: Mapped[str] = mapped_column(String(32), unique=True)  # carried by the status QR token
    programme: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(24), index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("county.code"))
    # Nullable only for appliance dealer settlement statements (payee_kind "dealer", issue 5 §6); every
    # resident application has a person and a card, so the attributes stay typed as int for their readers.
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("car_sale.id"))
    dealer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    new_vin: Mapped[str | None] = mapped_column(String(17))
    old_vin: Mapped[str | None] = mapped_column(String(17))
    certificate_id: Mapped[int | None] = mapped_column(BigInteger)
    bank_card_id: Mapped[int] = mapped_column(ForeignKey("bank_card.id"), nullable=True)
    payee_kind: Mapped[str] = mapped_column(String(10), default="resident", server_default="resident")
    appliance_sale_id: Mapped[int | None] = mapped_column(ForeignKey("appliance_sale.id"))
    facts: Mapped[dict[str, Any]]
    version_code: Mapped[str | None] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    consent_version: Mapped[str] = mapped_column(String(20))
    consent_at: Mapped[dt.datetime]
    needs_second_review: Mapped[bool] = mapped_column(default=False)
    first_reviewer_id: Mapped[int | None] = mapped_column(BigInteger)
    second_reviewer_id: Mapped[int | None] = mapped_column(BigInteger)
    refused_by: Mapped[int | None] = mapped_column(BigInteger)  # the reviewer who rejected it (account id)
    assigned_to: Mapped[int | None] = mapped_column(BigInteger, index=True)  # the reviewer who took it (account id)
    last_reason: Mapped[str | None] = mapped_column(String(500))
    card_correction_needed: Mapped[bool] = mapped_column(default=False)
    budget_pool_id: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[dt.datetime | None]
    # What the review-time statistics measure (applications.review_times), kept by the transition function: when
    # the application first reached pending review, and its first decision after that (approve, reject, return).
    review_started_at: Mapped[dt.datetime | None]
    first_decided_at: Mapped[dt.datetime | None]


class ApplicationCheck(Base):
    """The result of one automatic check of one run, with its explanation."""

    __tablename__ = "application_check"
    __table_args__ = (UniqueConstraint("application_id", "run", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    run: Mapped[int]
    code: Mapped[str] = mapped_column(String(60))
    passed: Mapped[bool]
    explanation_zh: Mapped[str] = mapped_column(String(500))
    explanation_en: Mapped[str] = mapped_column(String(500))
    overridden_by: Mapped[int | None] = mapped_column(BigInteger)
    override_reason: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApplicationEvent(Base):
    """The application's own history (what the resident's status page and reviewers see)."""

    __tablename__ = "application_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PaymentBatch(Base):
    """A finance officer's batch of approved applications, exported to the bank and reconciled."""

    __tablename__ = "payment_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    state: Mapped[str] = mapped_column(String(20))  # draft | exported | reconciled
    declared_count: Mapped[int]
    declared_total: Mapped[Decimal] = mapped_column(Money)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[dt.datetime | None]
    reconciled_at: Mapped[dt.datetime | None]


class PaymentLine(Base):
    """One payment in a batch; an application is in at most one open or paid line."""

    __tablename__ = "payment_line"
    __table_args__ = (
        Index("uq_payment_line_live", "application_id", unique=True,
              postgresql_where=text("state IN ('pending', 'paid')"), sqlite_where=text("state IN ('pending', 'paid')")),
        UniqueConstraint("batch_id", "line_no"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batch.id"), index=True)
    line_no: Mapped[int]
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(20))  # pending | paid | failed
    bank_ref: Mapped[str | None] = mapped_column(String(60))
    result_message: Mapped[str | None] = mapped_column(String(300))
    settled_at: Mapped[dt.datetime | None]


class BankResultImport(Base):
    """A bank result file, kept by its SHA-256 so a second import changes nothing."""

    __tablename__ = "bank_result_import"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batch.id"))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed; dropped after the retention period
    report: Mapped[dict[str, Any]]
    imported_by: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


stored_upload(BankResultImport.content, finished=BankResultImport.imported_at)


class Clawback(Base):
    """Money to recover after a paid application was revoked."""

    __tablename__ = "clawback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | recovered | written_off
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApplicationTally(Base):
    """Applications reaching a milestone per Beijing day, county, programme and category: the dashboard's figures.

    Kept in the transaction of each change (see applications.tallies). A year holds at most days × counties ×
    categories × milestones rows, however many applications there are, so the dashboard's reads stay flat.
    """

    __tablename__ = "application_tally"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    programme: Mapped[str] = mapped_column(String(30), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    milestone: Mapped[str] = mapped_column(String(12), primary_key=True)  # submitted | approved | paid | ...
    count: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class ReviewTimeWeek(Base):
    """The review-time figures of an ISO week that has ended, per county and for all counties ("*").

    A first decision is stamped with the moment it is made, so an ended week's figures never change: the job
    applications.keep_review_weeks computes each once, and the dashboard reads them instead of the decisions.
    Each ended week has its "*" row (also when nobody decided anything); a county without decisions has none.
    """

    __tablename__ = "review_time_week"

    week: Mapped[dt.date] = mapped_column(primary_key=True)  # the Monday (Beijing)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)  # "*": every county together
    reviewed: Mapped[int]
    median_hours: Mapped[Decimal] = mapped_column(Numeric(10, 1))
    p90_hours: Mapped[Decimal] = mapped_column(Numeric(10, 1))


# What each constraint's refusal means to the client (see core.constraints).
register('uq_car_sale_invoice_key', 'sale.invoice_exists',
         '该发票已登记销售 / this invoice is already registered')
register('uq_car_sale_apply_code', 'sale.apply_code_exists',
         '申领码冲突,请重试 / apply code clash, retry')
register('uq_car_sale_new_vin', 'sale.vin_exists',
         '该车架号已登记销售 / this VIN is already registered as sold')
register('uq_application_status_code', 'application.status_code_exists',
         '查询码冲突,请重试 / status code clash, retry')
register('uq_application_number', 'application.number_exists',
         '申请编号冲突,请重试 / application number clash, retry')
register('uq_application_certificate_active', 'certificate.already_used',
         '该报废机动车回收证明已被其他申请使用 / this scrap certificate is already used by another application')
register('uq_application_new_vin_active', 'vehicle.already_subsidised',
         "该新车已申请过补贴(报废更新与置换更新不能同时享受)/ this new car already has an application "
         "(scrap-renewal and replacement can't both be claimed)")
register('uq_application_appliance_sale_active', 'sale.already_claimed',
         '该笔销售已申请过补贴 / this sale has already been claimed')
register('uq_application_check_application_id_run_code', 'application.check_recorded',
         '该核验已记录 / this check is already recorded')
register('uq_payment_batch_number', 'payment_batch.number_exists',
         '批次号冲突,请重试 / batch number clash, retry')
register('uq_payment_line_batch_id_line_no', 'payment_batch.line_exists',
         '批次行号冲突,请重试 / batch line clash, retry')
register('uq_payment_line_live', 'payment.already_batched',
         '该申请已在付款批次中 / this application is already in a payment batch')
register('uq_bank_result_import_sha256', 'bank_results.duplicate',
         '该银行回盘文件已导入 / this bank result file was already imported')
register('pk_application_tally', 'application.tally_clash',
         '统计单元冲突,请重试 / tally cell clash, retry')  # never raised: every write adds to its cell
register('pk_review_time_week', 'review_times.week_kept',
         '该周审核用时已保存 / that week is already kept')  # never raised: the job inserts ignoring kept weeks
register('uq_clawback_application_id', 'clawback.exists',
         '该申请已追回 / this application already has a clawback')
