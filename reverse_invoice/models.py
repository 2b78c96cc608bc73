"""Reverse-invoicing tables: recycler profiles, sellers, consents, purchases, invoices, counters, filings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from subsidy_app.core.constraints import register
from subsidy_app.core.db import Base, BigId, Money, utcnow

Rate = Numeric(7, 4)
Quantity = Numeric(20, 6)


class RecyclerProfile(Base):
    """A recycler's reverse-invoicing standing: qualification, VAT method, location class, status."""

    __tablename__ = "ri_recycler"
    __table_args__ = (
        CheckConstraint("qualification IN ('hazardous_waste_licence', 'vehicle_dismantling', "
                        "'renewable_resource_filing')", name="qualification"),
        CheckConstraint("qualification_state IN ('pending', 'approved', 'revoked')", name="qualification_state"),
        CheckConstraint("vat_method IN ('general', 'simplified')", name="vat_method"),
        CheckConstraint("location_class IN ('city', 'county_town', 'elsewhere')", name="location_class"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    qualification: Mapped[str] = mapped_column(String(40))
    qualification_no: Mapped[str] = mapped_column(String(60))
    qualification_state: Mapped[str] = mapped_column(String(20), default="pending")
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[dt.datetime | None]
    vat_method: Mapped[str] = mapped_column(String(20))
    location_class: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")
    suspended_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Seller(Base):
    """A natural person selling their own scrap; the row is locked to serialise their invoices."""

    __tablename__ = "ri_seller"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    bank_card_id: Mapped[int] = mapped_column(ForeignKey("bank_card.id"))
    card_masked: Mapped[str] = mapped_column(String(24))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """The seller's consent to one recycler filing taxes on their behalf, with the text version agreed to."""

    __tablename__ = "ri_consent"
    __table_args__ = (UniqueConstraint("seller_id", "recycler_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("ri_seller.id"), index=True)
    recycler_id: Mapped[int] = mapped_column(ForeignKey("ri_recycler.organisation_id"))
    text_version: Mapped[str] = mapped_column(String(20))
    text_hash: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(120))


class SellerMonth(Base):
    """A seller's reverse-invoiced sales in one calendar month across all recyclers (running total)."""

    __tablename__ = "ri_seller_month"

    seller_id: Mapped[int] = mapped_column(ForeignKey("ri_seller.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sales: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class Purchase(Base):
    """Scrap bought from a seller, with its evidence: contract, weighbridge ticket, plate, photos, payment."""

    __tablename__ = "ri_purchase"
    __table_args__ = (CheckConstraint("state IN ('open', 'invoiced')", name="state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recycler_id: Mapped[int] = mapped_column(ForeignKey("ri_recycler.organisation_id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("ri_seller.id"), index=True)
    purchased_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    contract_no: Mapped[str] = mapped_column(String(60))
    weighbridge_ticket: Mapped[str] = mapped_column(String(60))
    vehicle_plate: Mapped[str] = mapped_column(String(10))
    photos: Mapped[list[Any]] = mapped_column(default=list)
    paid_card_id: Mapped[int] = mapped_column(ForeignKey("bank_card.id"))
    payment_reference: Mapped[str] = mapped_column(String(60))
    paid_amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[dt.datetime]
    intake_ref: Mapped[str | None] = mapped_column(String(60), index=True)
    state: Mapped[str] = mapped_column(String(20), default="open")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PurchaseLine(Base):
    """One line of a purchase: product, tax classification code, specification, unit, quantity, price."""

    __tablename__ = "ri_purchase_line"
    __table_args__ = (UniqueConstraint("purchase_id", "line_no"),
                      CheckConstraint("quantity > 0 AND unit_price >= 0 AND amount > 0", name="positive"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("ri_purchase.id"))
    line_no: Mapped[int]
    product_name: Mapped[str] = mapped_column(String(100))
    tax_code: Mapped[str] = mapped_column(String(19))
    specification: Mapped[str] = mapped_column(String(60), default="")
    unit: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Quantity)
    amount: Mapped[Decimal] = mapped_column(Money)


class InvoiceCounter(Base):
    """The last invoice sequence per recycler and year; incremented in the issuing transaction (gapless)."""

    __tablename__ = "ri_invoice_counter"

    recycler_id: Mapped[int] = mapped_column(ForeignKey("ri_recycler.organisation_id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Invoice(Base):
    """A reverse invoice (blue) or a red-letter reversal of one, with the taxes filed on the seller's behalf."""

    __tablename__ = "ri_invoice"
    __table_args__ = (
        UniqueConstraint("recycler_id", "year", "seq"),
        CheckConstraint("(colour = 'blue' AND amount > 0) OR (colour = 'red' AND amount < 0)", name="colour_sign"),
        CheckConstraint("colour = 'red' OR (reversed_amount >= 0 AND reversed_amount <= amount)", name="reversed"),
        CheckConstraint("state IN ('issued', 'partly_reversed', 'reversed')", name="state"),
        Index("ix_ri_invoice_recycler_issued_on", "recycler_id", "issued_on"),
        Index("ix_ri_invoice_seller_tax_month", "seller_id", "tax_month"),
        # One original blue invoice per purchase; a month's correction re-issues it once, naming what it replaces.
        Index("uq_ri_invoice_purchase_original", "purchase_id", unique=True,
              postgresql_where=text("colour = 'blue' AND replaces_id IS NULL AND purchase_id IS NOT NULL"),
              sqlite_where=text("colour = 'blue' AND replaces_id IS NULL AND purchase_id IS NOT NULL")),
        Index("uq_ri_invoice_replaces_id", "replaces_id", unique=True,
              postgresql_where=text("replaces_id IS NOT NULL"), sqlite_where=text("replaces_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    recycler_id: Mapped[int] = mapped_column(ForeignKey("ri_recycler.organisation_id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("ri_seller.id"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("ri_purchase.id"), index=True)
    year: Mapped[int]
    seq: Mapped[int] = mapped_column(BigInteger)
    colour: Mapped[str] = mapped_column(String(4))
    invoice_type: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    tax_month: Mapped[dt.date] = mapped_column(Date)
    location_class: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Rate)
    vat_exempt: Mapped[bool]
    vat: Mapped[Decimal] = mapped_column(Money)
    urban_rate: Mapped[Decimal] = mapped_column(Rate)
    urban_tax: Mapped[Decimal] = mapped_column(Money)
    education: Mapped[Decimal] = mapped_column(Money)
    local_education: Mapped[Decimal] = mapped_column(Money)
    income_tax: Mapped[Decimal] = mapped_column(Money)
    total_incl_vat: Mapped[Decimal] = mapped_column(Money)
    net_payable: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[str] = mapped_column(String(20), default="issued")
    reversed_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("ri_invoice.id"), index=True)
    red_reason: Mapped[str | None] = mapped_column(String(2))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("ri_invoice.id"))
    issued_by: Mapped[str] = mapped_column(String(120))


class Filing(Base):
    """A recycler's monthly report of the taxes filed on sellers' behalf, due the 15th of the next month."""

    __tablename__ = "ri_filing"
    __table_args__ = (UniqueConstraint("recycler_id", "month"),
                      CheckConstraint("state IN ('prepared', 'filed', 'paid')", name="state"),
                      Index("ix_ri_filing_unpaid", "recycler_id", "state", "due_on"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recycler_id: Mapped[int] = mapped_column(ForeignKey("ri_recycler.organisation_id"))
    month: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="prepared")
    invoice_count: Mapped[int] = mapped_column(default=0)
    seller_count: Mapped[int] = mapped_column(default=0)
    sales: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    vat: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    urban_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    education: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    local_education: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    income_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    prepared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    filed_at: Mapped[dt.datetime | None]
    paid_at: Mapped[dt.datetime | None]
    payment_reference: Mapped[str | None] = mapped_column(String(60))


class FilingLine(Base):
    """The detail report: one seller's sales and taxes in a filing."""

    __tablename__ = "ri_filing_line"

    filing_id: Mapped[int] = mapped_column(ForeignKey("ri_filing.id", ondelete="CASCADE"), primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("ri_seller.id"), primary_key=True)
    invoice_count: Mapped[int]
    sales: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[Decimal] = mapped_column(Money)
    urban_tax: Mapped[Decimal] = mapped_column(Money)
    education: Mapped[Decimal] = mapped_column(Money)
    local_education: Mapped[Decimal] = mapped_column(Money)
    income_tax: Mapped[Decimal] = mapped_column(Money)

# What each constraint's refusal means to the client (see core.constraints).
register('pk_ri_recycler', 'recycler.exists',
         '该回收企业已登记 / this recycler is already registered')
register('ck_ri_recycler_vat_method', 'recycler.vat_method_invalid',
         '计税方法无效 / invalid VAT method', field='vat_method')
register('ck_ri_recycler_status', 'recycler.status_invalid',
         '状态无效 / invalid status', field='status')
register('ck_ri_recycler_qualification', 'recycler.qualification_invalid',
         '资质类型无效 / invalid qualification', field='qualification')
register('ck_ri_recycler_qualification_state', 'recycler.qualification_state_invalid',
         '资质状态无效 / invalid qualification state', field='qualification_state')
register('ck_ri_recycler_location_class', 'recycler.location_class_invalid',
         '所在地类别无效 / invalid location class', field='location_class')
register('uq_ri_seller_person_id', 'seller.exists',
         '该出售人已登记 / this seller is already registered')
register('uq_ri_consent_seller_id_recycler_id', 'consent.exists',
         '该出售人已授权 / this seller already consented')
register('pk_ri_seller_month', 'seller.month_exists',
         '月度累计已建立,请重试 / the monthly total was just created, retry')
register('ck_ri_purchase_state', 'purchase.state_invalid',
         '收购状态无效 / invalid purchase state', field='state')
register('uq_ri_purchase_line_purchase_id_line_no', 'purchase.line_exists',
         '收购明细行号重复 / duplicate purchase line number')
register('ck_ri_purchase_line_positive', 'purchase.line_invalid',
         '数量须大于零、单价不能为负 / quantity must be positive, unit price not negative', field='lines')
register('pk_ri_invoice_counter', 'invoice.counter_exists',
         '发票计数器已建立,请重试 / the invoice counter was just created, retry')
register('uq_ri_invoice_number', 'invoice.number_exists',
         '发票号码已使用 / this invoice number is already used')
register('uq_ri_invoice_recycler_id_year_seq', 'invoice.sequence_taken',
         '发票序号已使用 / this invoice sequence number is taken')
register('uq_ri_invoice_purchase_original', 'purchase.already_invoiced',
         '该收购已开具发票 / this purchase is already invoiced')
register('uq_ri_invoice_replaces_id', 'invoice.already_reissued',
         '该发票已重开 / this invoice was already re-issued')
register('ck_ri_invoice_colour_sign', 'invoice.amount_sign',
         '蓝字发票金额须为正、红字为负 / a blue invoice is positive, a red one negative', field='amount')
register('ck_ri_invoice_reversed', 'invoice.over_reversed',
         "冲红金额不能超过原发票 / reversals can't exceed the invoice")
register('ck_ri_invoice_state', 'invoice.state_invalid',
         '发票状态无效 / invalid invoice state', field='state')
register('uq_ri_filing_recycler_id_month', 'filing.exists',
         "该月申报已生成 / this month's filing already exists")
register('ck_ri_filing_state', 'filing.state_invalid',
         '申报状态无效 / invalid filing state', field='state')
register('pk_ri_filing_line', 'filing.line_exists',
         '申报明细已存在 / this filing line already exists')
