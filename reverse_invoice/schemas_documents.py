"""Reverse-invoicing schemas for invoices as documents, reversals and monthly filings."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from reverse_invoice.domain import RedReason
from subsidy_app.schema_fields import Text

Money = ma.fields.Decimal(as_string=True, places=2)
# A month as YYYY-MM from 2000 on: the regex alone let "0000-01" through, which is no date (a 500, found by fuzzing).
MONTH = validate.Regexp(r"^20\d{2}-(0[1-9]|1[0-2])$", error="应为 YYYY-MM 格式的月份 / expected a month as YYYY-MM")


class RiReversalIn(ma.Schema):
    """A red-letter request: a reason code, and an amount for a sales allowance (04)."""

    reason = ma.fields.Enum(RedReason, by_value=True, required=True)
    amount = ma.fields.Decimal(load_default=None, places=2)


class RiReversalOut(ma.Schema):
    """A red-letter invoice."""

    red_invoice_id = ma.fields.Integer()
    number = ma.fields.String()
    amount = Money
    corrections_needed = ma.fields.List(ma.fields.Integer())


class RiInvoiceLineOut(ma.Schema):
    """A printed line."""

    product_name = ma.fields.String()
    tax_code = ma.fields.String()
    specification = ma.fields.String()
    unit = ma.fields.String()
    quantity = ma.fields.Decimal(as_string=True, allow_none=True)
    unit_price = ma.fields.Decimal(as_string=True, allow_none=True)
    amount = Money


class RiInvoiceOut(ma.Schema):
    """A reverse invoice as a document."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    colour = ma.fields.String()
    invoice_type = ma.fields.String()
    invoice_type_zh = ma.fields.String()
    issued_on = ma.fields.Date()
    tax_month = ma.fields.Date()
    state = ma.fields.String()
    recycler_id = ma.fields.Integer()
    recycler_name = ma.fields.String()
    recycler_credit_code = ma.fields.String()
    seller_id = ma.fields.Integer()
    seller_name = ma.fields.String()
    seller_id_number = ma.fields.String()
    seller_card = ma.fields.String()
    lines = ma.fields.List(ma.fields.Nested(RiInvoiceLineOut))
    amount = Money
    vat_rate = ma.fields.Decimal(as_string=True)
    vat_exempt = ma.fields.Boolean()
    vat = Money
    urban_rate = ma.fields.Decimal(as_string=True)
    urban_tax = Money
    education = Money
    local_education = Money
    income_tax = Money
    total_incl_vat = Money
    net_payable = Money
    reversed_amount = Money
    original_number = ma.fields.String(allow_none=True)
    red_reason = ma.fields.String(allow_none=True)
    red_reason_zh = ma.fields.String(allow_none=True)
    replaces_number = ma.fields.String(allow_none=True)
    issued_by = ma.fields.String()


class RiInvoiceSummaryOut(ma.Schema):
    """An invoice in a list."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    colour = ma.fields.String()
    recycler_id = ma.fields.Integer()
    seller_id = ma.fields.Integer()
    issued_on = ma.fields.Date()
    amount = Money
    vat = Money
    income_tax = Money
    state = ma.fields.String()


class RiInvoiceQuery(ma.Schema):
    """Filters for the invoice list."""

    recycler_id = ma.fields.Integer(load_default=None)
    seller_id = ma.fields.Integer(load_default=None)
    month = ma.fields.String(load_default=None, validate=MONTH)
    before_id = ma.fields.Integer(load_default=None)
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class RiFilingLineOut(ma.Schema):
    """One seller's row of the detail report."""

    seller_id = ma.fields.Integer()
    name = ma.fields.String()
    id_number = ma.fields.String()
    invoice_count = ma.fields.Integer()
    sales = Money
    vat = Money
    urban_tax = Money
    education = Money
    local_education = Money
    income_tax = Money


class RiFilingOut(ma.Schema):
    """A monthly filing."""

    id = ma.fields.Integer()
    recycler_id = ma.fields.Integer()
    recycler_name = ma.fields.String()
    month = ma.fields.Date()
    due_on = ma.fields.Date()
    state = ma.fields.String()
    invoice_count = ma.fields.Integer()
    seller_count = ma.fields.Integer()
    sales = Money
    vat = Money
    urban_tax = Money
    education = Money
    local_education = Money
    income_tax = Money
    total_tax = Money
    prepared_at = ma.fields.DateTime()
    filed_at = ma.fields.DateTime(allow_none=True)
    paid_at = ma.fields.DateTime(allow_none=True)
    payment_reference = ma.fields.String(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(RiFilingLineOut))


class RiFilingQuery(ma.Schema):
    """Filters for the filing list."""

    month = ma.fields.String(load_default=None, validate=MONTH)


class RiPrepareIn(ma.Schema):
    """Prepare every recycler's filing for a month (default: last month)."""

    month = Text(load_default=None, validate=MONTH)


class RiJobOut(ma.Schema):
    """A queued job to poll at /api/v1/jobs/<id>."""

    job_id = ma.fields.Integer()


class RiPaymentIn(ma.Schema):
    """The tax payment's reference."""

    payment_reference = Text(required=True, validate=validate.Length(min=4), max_length=60)
