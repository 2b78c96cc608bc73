"""Car sales, applications, reviews and payment batch schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from subsidy_app.applications.domain import Action, State
from subsidy_app.rules.schemas import money_field, positive
from subsidy_app.schema_fields import Text


class CarSaleIn(ma.Schema):
    """A dealer's new-car sale."""

    new_vin = Text(required=True)
    invoice_number = Text(required=True)
    invoice_code = Text(load_default=None)
    invoice_date = ma.fields.Date(required=True)
    invoice_total = ma.fields.Decimal(required=True, places=2, validate=positive)
    price_excl_tax = ma.fields.Decimal(load_default=None, places=2, validate=positive)
    new_vehicle_type = ma.fields.String(required=True, validate=validate.OneOf(["nev", "fuel"]))
    nev_catalogue_ref = Text(load_default=None, max_length=60)
    displacement_l = ma.fields.Decimal(load_default=None, places=2, validate=positive)
    buyer_name = Text(required=True)
    buyer_id_number = Text(required=True)


class CarSaleOut(ma.Schema):
    """A registered sale with the QR code the buyer scans."""

    id = ma.fields.Integer()
    dealer_name = ma.fields.String()
    county_code = ma.fields.String()
    new_vin = ma.fields.String()
    invoice_key = ma.fields.String()
    invoice_date = ma.fields.Date()
    invoice_total = money_field()
    new_vehicle_type = ma.fields.String()
    buyer_name_masked = ma.fields.String()
    buyer_id_masked = ma.fields.String()
    apply_url = ma.fields.String(metadata={"description": "the URL in the QR code (a signed, expiring token)"})
    qr_png_url = ma.fields.String()
    qr_svg_url = ma.fields.String()


class CheckOut(ma.Schema):
    """One automatic check."""

    id = ma.fields.Integer()
    code = ma.fields.String()
    passed = ma.fields.Boolean()
    explanation_zh = ma.fields.String()
    explanation_en = ma.fields.String()
    overridden_by = ma.fields.Integer(allow_none=True)
    override_reason = ma.fields.String(allow_none=True)


class EventOut(ma.Schema):
    """One step of the application's history."""

    action = ma.fields.String()
    from_state = ma.fields.String()
    to_state = ma.fields.String()
    actor = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime()


class ApplicationOut(ma.Schema):
    """An application as reviewers see it."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    programme = ma.fields.String()
    state = ma.fields.String()
    state_label = ma.fields.String()
    county_code = ma.fields.String()
    amount = money_field()
    version_code = ma.fields.String(allow_none=True)
    new_vin = ma.fields.String(allow_none=True)
    old_vin = ma.fields.String(allow_none=True)
    needs_second_review = ma.fields.Boolean()
    first_reviewer_id = ma.fields.Integer(allow_none=True)
    last_reason = ma.fields.String(allow_none=True)
    card_correction_needed = ma.fields.Boolean()
    applicant_name = ma.fields.String()
    applicant_id_number = ma.fields.String()
    bank_card = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    checks = ma.fields.List(ma.fields.Nested(CheckOut))
    events = ma.fields.List(ma.fields.Nested(EventOut))
    documents = ma.fields.List(ma.fields.Dict())


class ApplicationQuery(ma.Schema):
    """Filters for the review queue."""

    state = ma.fields.Enum(State, by_value=True, load_default=None)
    programme = ma.fields.String(load_default=None)
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ReviewIn(ma.Schema):
    """A reviewer's decision."""

    action = ma.fields.Enum(Action, by_value=True, required=True)
    reason = Text(load_default=None, max_length=500, multiline=True)


class OverrideIn(ma.Schema):
    """Accepting a failed check by hand."""

    reason = Text(required=True, validate=validate.Length(min=2), max_length=500)  # a one-line input on the page


class BatchApproveIn(ma.Schema):
    """Applications to approve together."""

    application_ids = ma.fields.List(ma.fields.Integer(), required=True, validate=validate.Length(min=1, max=5000))


class BatchApproveOut(ma.Schema):
    """What a batch approval did."""

    approved = ma.fields.List(ma.fields.Integer())
    awaiting_funds = ma.fields.List(ma.fields.Integer())
    skipped = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class PaymentBatchIn(ma.Schema):
    """A payment batch with its control totals."""

    application_ids = ma.fields.List(ma.fields.Integer(), required=True, validate=validate.Length(min=1, max=10000))
    declared_count = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    declared_total = ma.fields.Decimal(required=True, places=2, validate=positive)


class PaymentLineOut(ma.Schema):
    """One line of a batch."""

    line_no = ma.fields.Integer()
    application_id = ma.fields.Integer()
    amount = money_field()
    state = ma.fields.String()
    bank_ref = ma.fields.String(allow_none=True)


class PaymentBatchOut(ma.Schema):
    """A payment batch."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    state = ma.fields.String()
    declared_count = ma.fields.Integer()
    declared_total = money_field()
    created_at = ma.fields.DateTime()
    lines = ma.fields.List(ma.fields.Nested(PaymentLineOut))


class BankFileQuery(ma.Schema):
    """Which format the bank wants."""

    format = ma.fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))


class ReconciliationOut(ma.Schema):
    """What a bank result file did."""

    already_imported = ma.fields.Boolean()
    paid = ma.fields.List(ma.fields.String())
    failed = ma.fields.List(ma.fields.String())
    duplicate = ma.fields.List(ma.fields.String())
    unknown_ids = ma.fields.List(ma.fields.String(), attribute="unknown", data_key="unknown")
    amount_mismatch = ma.fields.List(ma.fields.String())
    pending = ma.fields.List(ma.fields.String())
    paid_total = ma.fields.String()
    file_total = ma.fields.String()
    control_row = ma.fields.Boolean(metadata={"description": "the file held the export's control-total row (合计), "
                                                             "and it matched the batch"})
