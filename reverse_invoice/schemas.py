"""Reverse-invoicing request and response schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from reverse_invoice.domain import InvoiceType, LocationClass, Qualification, VatMethod
from reverse_invoice.schemas_documents import MONTH
from subsidy_app.schema_fields import Text

Money = ma.fields.Decimal(as_string=True, places=2)


class RiProfileIn(ma.Schema):
    """A recycler's qualification, VAT method and location class."""

    qualification = ma.fields.Enum(Qualification, by_value=True, required=True)
    qualification_no = Text(required=True, validate=validate.Length(min=4), max_length=60)
    vat_method = ma.fields.Enum(VatMethod, by_value=True, required=True)
    location_class = ma.fields.Enum(LocationClass, by_value=True, required=True)


class RiDecisionIn(ma.Schema):
    """Approve or revoke a qualification."""

    approve = ma.fields.Boolean(required=True)


class RiStandingOut(ma.Schema):
    """What a recycler may do today."""

    organisation_id = ma.fields.Integer()
    name = ma.fields.String()
    county_code = ma.fields.String()
    qualification = ma.fields.String()
    qualification_no = ma.fields.String()
    qualification_state = ma.fields.String()
    vat_method = ma.fields.String()
    location_class = ma.fields.String()
    status = ma.fields.String()
    overdue_filing_months = ma.fields.List(ma.fields.Date())
    may_issue = ma.fields.Boolean()


class RiSellerIn(ma.Schema):
    """A seller: a natural person with their own bank card."""

    name = Text(required=True, validate=validate.Length(min=2), max_length=40)
    id_number = Text(required=True)
    bank_card = Text(required=True)
    bank_name = Text(load_default="", max_length=60)
    phone = Text(load_default=None)


class RiConsentIn(ma.Schema):
    """The seller's consent to the caller's recycler filing on their behalf."""

    text_version = Text(required=True)
    agreed = ma.fields.Boolean(required=True)
    # Required for a seller not yet linked to the caller's recycler: it proves the seller is present.
    id_number = Text(load_default=None, metadata={"description": "售卖人身份证号(首次授权时必填)/ the seller's "
                                                                   "ID number, required for a first consent"})


class RiConsentOut(ma.Schema):
    """A recorded consent."""

    recycler_id = ma.fields.Integer()
    text_version = ma.fields.String()
    consented_at = ma.fields.DateTime()


class RiConsentTextOut(ma.Schema):
    """The consent text to show the seller."""

    text_version = ma.fields.String()
    text_zh = ma.fields.String()


class RiSellerOut(ma.Schema):
    """A seller, masked unless the caller's role reveals."""

    id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    name = ma.fields.String()
    id_number = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    bank_card = ma.fields.String()
    revealed = ma.fields.Boolean()
    consents = ma.fields.List(ma.fields.Nested(RiConsentOut))


class RiLineIn(ma.Schema):
    """One purchase line."""

    product_name = Text(required=True, validate=validate.Length(min=1), max_length=100)
    tax_code = Text(required=True, validate=validate.Regexp(r"^\d{19}$", error="19 digits"))
    specification = Text(load_default="", max_length=60)
    unit = Text(required=True, validate=validate.Length(min=1), max_length=10)
    quantity = ma.fields.Decimal(required=True, places=None)
    unit_price = ma.fields.Decimal(required=True, places=None)
    amount = ma.fields.Decimal(load_default=None, places=None)


class RiPurchaseIn(ma.Schema):
    """A purchase with its lines and evidence."""

    seller_id = ma.fields.Integer(required=True)
    purchased_on = ma.fields.Date(required=True)
    lines = ma.fields.List(ma.fields.Nested(RiLineIn), required=True, validate=validate.Length(min=1, max=100))
    contract_no = Text(required=True)
    weighbridge_ticket = Text(required=True)
    vehicle_plate = Text(required=True)
    photos = ma.fields.List(Text(validate=validate.Length(min=1), max_length=300), required=True)
    payment_reference = Text(required=True)
    paid_amount = ma.fields.Decimal(required=True, places=2)
    paid_at = ma.fields.AwareDateTime(required=True, default_timezone=None)
    intake_ref = Text(load_default=None, max_length=60)


class RiIdOut(ma.Schema):
    """The id of something created."""

    id = ma.fields.Integer()


class RiIssueIn(ma.Schema):
    """Which invoice type to issue."""

    invoice_type = ma.fields.Enum(InvoiceType, by_value=True, load_default=InvoiceType.ORDINARY)


class RiIssueOut(ma.Schema):
    """A newly issued invoice."""

    invoice_id = ma.fields.Integer()
    number = ma.fields.String()
    amount = Money
    vat = Money
    vat_exempt = ma.fields.Boolean()
    net_payable = Money
    corrections_needed = ma.fields.List(ma.fields.Integer())


class RiCorrectionIn(ma.Schema):
    """The month to correct (YYYY-MM)."""

    month = Text(required=True, validate=MONTH)


class RiCorrectedOut(ma.Schema):
    """One corrected invoice."""

    original_id = ma.fields.Integer()
    red_invoice_id = ma.fields.Integer()
    reissued_id = ma.fields.Integer()


class RiCorrectionsQuery(ma.Schema):
    """The month whose invoices to check."""

    month = ma.fields.String(required=True, validate=MONTH)


class RiCorrectionsOut(ma.Schema):
    """Invoices of a month whose VAT treatment needs correcting."""

    invoice_ids = ma.fields.List(ma.fields.Integer())


class RiStatementRowOut(ma.Schema):
    """One month's or one recycler's sales and taxes."""

    key = ma.fields.String()
    label = ma.fields.String()
    invoice_count = ma.fields.Integer()
    sales = Money
    vat = Money
    surcharges = Money
    income_tax = Money


class RiStatementOut(ma.Schema):
    """A seller's annual statement."""

    seller = ma.fields.Nested(RiSellerOut)
    year = ma.fields.Integer()
    return_due = ma.fields.Date()
    months = ma.fields.List(ma.fields.Nested(RiStatementRowOut))
    recyclers = ma.fields.List(ma.fields.Nested(RiStatementRowOut))
    total = ma.fields.Nested(RiStatementRowOut)
