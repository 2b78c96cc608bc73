"""Appliance API schemas: catalogue, stores, participation, sales, settlement."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from subsidy_app.rules.schemas import money_field, positive
from subsidy_app.schema_fields import RowErrorOut, Text


class ProductIn(ma.Schema):
    """A catalogue product."""

    gtin = Text(required=True)
    category = Text(required=True)
    brand = Text(required=True)
    model = Text(required=True)
    energy_grade = ma.fields.Integer(load_default=None, validate=validate.Range(1, 5))
    water_grade = ma.fields.Integer(load_default=None, validate=validate.Range(1, 5))
    reference_price = ma.fields.Decimal(required=True, places=2, validate=positive)


class ProductOut(ma.Schema):
    """A catalogue product."""

    gtin = ma.fields.String()
    category = ma.fields.String()
    brand = ma.fields.String()
    model = ma.fields.String()
    energy_grade = ma.fields.Integer(allow_none=True)
    water_grade = ma.fields.Integer(allow_none=True)
    reference_price = money_field()
    active = ma.fields.Boolean()


class ProductQuery(ma.Schema):
    """Catalogue filters."""

    category = ma.fields.String(load_default=None)
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0))


class ImportOut(ma.Schema):
    """What a catalogue import did."""

    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    errors = ma.fields.List(ma.fields.Nested(RowErrorOut))


class StoreIn(ma.Schema):
    """A new store."""

    dealer_org_id = ma.fields.Integer(load_default=None)
    name = Text(required=True, max_length=200)
    address = Text(required=True, max_length=300)
    opens_at = ma.fields.Time(load_default=None)
    closes_at = ma.fields.Time(load_default=None)


class StoreOut(ma.Schema):
    """A store."""

    id = ma.fields.Integer()
    dealer_org_id = ma.fields.Integer()
    dealer_name = ma.fields.String()
    name = ma.fields.String()
    county_code = ma.fields.String()
    address = ma.fields.String()
    opens_at = ma.fields.Time(allow_none=True)
    closes_at = ma.fields.Time(allow_none=True)


class ParticipationIn(ma.Schema):
    """A county bureau's decision."""

    dealer_org_id = ma.fields.Integer(required=True)
    store_id = ma.fields.Integer(load_default=None)
    category = Text(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(["approved", "suspended"]))
    reason = Text(load_default=None, max_length=500, multiline=True)


class ParticipationOut(ma.Schema):
    """A decision."""

    id = ma.fields.Integer()
    dealer_org_id = ma.fields.Integer()
    store_id = ma.fields.Integer(allow_none=True)
    programme = ma.fields.String()
    category = ma.fields.String()
    status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    decided_by = ma.fields.String()
    decided_at = ma.fields.DateTime()


class AccountIn(ma.Schema):
    """A dealer's settlement account."""

    account_name = Text(load_default="")
    bank_name = Text(required=True)
    account_number = Text(required=True)


class AccountOut(ma.Schema):
    """The account, masked."""

    account_masked = ma.fields.String()


class BuyerCodeIn(ma.Schema):
    """Send the buyer a one-time code."""

    phone = Text(required=True)


class SaleIn(ma.Schema):
    """A sale from the till: the buyer is verified by a code or by their phone's confirmation."""

    store_id = ma.fields.Integer(required=True)
    gtin = Text(required=True)
    serial_number = Text(required=True, metadata={"description": "serial number; IMEI for phones"})
    price = ma.fields.Decimal(required=True, places=2, validate=positive)
    invoice_number = Text(required=True)
    invoice_code = Text(load_default=None)
    sold_on = ma.fields.Date(load_default=None)
    delivery_address = Text(load_default=None, max_length=300)
    buyer_token = Text(load_default=None, metadata={"description": "confirmation from the phone"})
    buyer_name = Text(load_default=None)
    buyer_id_number = Text(load_default=None)
    buyer_phone = Text(load_default=None)
    buyer_code = Text(load_default=None)
    mode = ma.fields.String(load_default="instant", validate=validate.OneOf(["instant", "claim"]))


class ReasonOut(ma.Schema):
    """Why no subsidy."""

    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class SaleOut(ma.Schema):
    """The till's answer: the subsidy to deduct, or 0 and why."""

    eligible = ma.fields.Boolean()
    amount = money_field()
    programme = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    version_code = ma.fields.String(allow_none=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonOut))
    sale_id = ma.fields.Integer(allow_none=True)
    number = ma.fields.String(allow_none=True)
    hand_in_required = ma.fields.Boolean()
    receipt_url = ma.fields.String(allow_none=True, metadata={"description": "the receipt QR's URL"})


class ReturnIn(ma.Schema):
    """A return."""

    reason = Text(required=True, validate=validate.Length(min=1), max_length=300, multiline=True)


class StateOut(ma.Schema):
    """A sale's state."""

    state = ma.fields.String()


class PickupIn(ma.Schema):
    """The old appliance's pickup."""

    picked_up_on = ma.fields.Date(required=True)


class StatementIn(ma.Schema):
    """A statement to create."""

    dealer_org_id = ma.fields.Integer(required=True)
    programme = ma.fields.String(required=True, validate=validate.OneOf(["appliance", "digital"]))
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)


class StatementOut(ma.Schema):
    """A created statement (an application paid to the dealer)."""

    application_id = ma.fields.Integer()
    number = ma.fields.String()
    sales = ma.fields.Integer()
    gross = money_field()
    clawback = money_field()
    total = money_field()
    flagged = ma.fields.Integer()


class StatementLineOut(ma.Schema):
    """One line of a statement."""

    number = ma.fields.String()
    kind = ma.fields.String()
    clawback_reason = ma.fields.String(allow_none=True, metadata={
        "description": "why a clawback line deducts: return, or spot_check (revoked after a spot check)"})
    category = ma.fields.String()
    gtin = ma.fields.String()
    price = money_field()
    amount = money_field()
    state = ma.fields.String()
    signals = ma.fields.List(ma.fields.Dict())


class StatementDetailOut(ma.Schema):
    """A statement with its lines."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    state = ma.fields.String()
    amount = money_field()
    period = ma.fields.List(ma.fields.String())
    gross = ma.fields.String()
    clawback = ma.fields.String()
    lines = ma.fields.List(ma.fields.Nested(StatementLineOut))


class BulkOut(ma.Schema):
    """A bulk upload's outcome, or its job to poll."""

    upload_id = ma.fields.Integer()
    already_uploaded = ma.fields.Boolean()
    state = ma.fields.String()
    job_id = ma.fields.Integer(allow_none=True)
    status_url = ma.fields.String(allow_none=True)
    report = ma.fields.Dict(allow_none=True)
