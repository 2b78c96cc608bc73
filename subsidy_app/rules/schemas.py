"""Rules, quotes and budget schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from subsidy_app.core.limits import LARGEST_MONEY
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules.domain import OldVehicleFuel, Programme, VehicleType
from subsidy_app.schema_fields import Text


def money_field(**kwargs: object) -> ma.fields.Decimal:
    """An amount in yuan, serialised as a string with two places (fen)."""
    return ma.fields.Decimal(as_string=True, places=2, **kwargs)  # type: ignore[arg-type]


def storable(value: object) -> None:
    """Refuse amounts the ledger's columns can't hold (the database would refuse them with no field named)."""
    if value is not None and abs(value) > LARGEST_MONEY:  # type: ignore[arg-type]
        raise ma.ValidationError("数额超出允许范围 / amount out of range")


def positive(value: object) -> None:
    """Refuse zero, negative and unstorable amounts (plain validator: apispec renders Range on Decimal as a string)."""
    if value is not None and value <= 0:  # type: ignore[operator]
        raise ma.ValidationError("必须大于 0 / must be greater than 0")
    storable(value)


def non_negative(value: object) -> None:
    """Refuse negative and unstorable numbers."""
    if value is not None and value < 0:  # type: ignore[operator]
        raise ma.ValidationError("不能为负数 / must not be negative")
    storable(value)


class FactsIn(ma.Schema):
    """The facts of a possible trade-in."""

    programme = ma.fields.Enum(Programme, by_value=True, required=True)
    category = Text(load_default=None, max_length=40)
    purchase_date = ma.fields.Date(required=True)
    price = ma.fields.Decimal(load_default=None, places=2, validate=positive)
    price_excl_tax = ma.fields.Decimal(load_default=None, places=2, validate=positive)
    energy_grade = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=5))
    new_vehicle_type = ma.fields.Enum(VehicleType, by_value=True, load_default=None)
    new_vehicle_displacement_l = ma.fields.Decimal(load_default=None, places=2,
                                                   validate=non_negative)
    old_vehicle_fuel = ma.fields.Enum(OldVehicleFuel, by_value=True, load_default=None)
    old_vehicle_first_registration = ma.fields.Date(load_default=None)
    old_vehicle_owner_since = ma.fields.Date(load_default=None)


class ConditionOut(ma.Schema):
    """One evaluated clause."""

    clause = ma.fields.String()
    passed = ma.fields.Boolean()
    explanation_zh = ma.fields.String()
    explanation_en = ma.fields.String()


class DocumentOut(ma.Schema):
    """A document an application must carry."""

    code = ma.fields.String()
    zh = ma.fields.String()
    en = ma.fields.String()


class QuotaOut(ma.Schema):
    """The person's use of the limit that applies."""

    category = ma.fields.String()
    period_key = ma.fields.String()
    max_count = ma.fields.Integer()
    used = ma.fields.Integer(allow_none=True)
    remaining = ma.fields.Integer(allow_none=True)


class QuoteOut(ma.Schema):
    """A quote: eligibility, amount, reasons and the version used."""

    eligible = ma.fields.Boolean()
    amount = money_field()
    version_code = ma.fields.String()
    version = ma.fields.Integer()
    version_hash = ma.fields.String()
    amount_explanation_zh = ma.fields.String()
    amount_explanation_en = ma.fields.String()
    conditions = ma.fields.List(ma.fields.Nested(ConditionOut))
    required_documents = ma.fields.List(ma.fields.Nested(DocumentOut))
    quota = ma.fields.Nested(QuotaOut, allow_none=True)


class VersionSummaryOut(ma.Schema):
    """A published rule version."""

    code = ma.fields.String()
    series = ma.fields.String()
    version = ma.fields.Integer()
    programme = ma.fields.String()
    title_zh = ma.fields.String()
    effective_from = ma.fields.Date()
    effective_to = ma.fields.Date(allow_none=True)
    apply_by = ma.fields.Date(allow_none=True)
    content_hash = ma.fields.String()
    current = ma.fields.Boolean()


class VersionOut(VersionSummaryOut):
    """A published rule version with its full content."""

    content = ma.fields.Dict()


class DiffQuery(ma.Schema):
    """Two versions to compare."""

    from_ = ma.fields.String(required=True, data_key="from")
    to = ma.fields.String(required=True)


class ChangeOut(ma.Schema):
    """One difference."""

    path = ma.fields.String()
    old = ma.fields.Raw(allow_none=True)
    new = ma.fields.Raw(allow_none=True)


class DiffOut(ma.Schema):
    """Differences between two versions."""

    from_ = ma.fields.String(data_key="from")
    to = ma.fields.String()
    changes = ma.fields.List(ma.fields.Nested(ChangeOut))


class PoolIn(ma.Schema):
    """A pool to open."""

    programme = ma.fields.Enum(Programme, by_value=True, required=True)
    county_code = ma.fields.String(required=True, validate=validate.OneOf(list(COUNTIES)))
    name = Text(required=True, validate=validate.Length(min=1), max_length=100)


class AllocationIn(ma.Schema):
    """Money added to a pool from a funding source."""

    amount = ma.fields.Decimal(required=True, places=2, validate=positive)
    source = ma.fields.String(required=True, validate=validate.OneOf(["central", "provincial", "city"]))


class AdjustmentIn(ma.Schema):
    """A correction of a pool's allocation."""

    amount = ma.fields.Decimal(required=True, places=2, validate=storable)
    reason = Text(required=True, validate=validate.Length(min=2), max_length=300, multiline=True)


class PoolOut(ma.Schema):
    """A pool's figures and burn rate."""

    id = ma.fields.Integer()
    programme = ma.fields.String()
    county_code = ma.fields.String()
    name = ma.fields.String()
    allocated = money_field()
    reserved = money_field()
    spent = money_field()
    remaining = money_field()
    queued_count = ma.fields.Integer()
    queued_amount = money_field()
    central = money_field()
    provincial = money_field()
    city = money_field()
    burn_per_day = money_field()
    days_left = ma.fields.Integer(allow_none=True)


class PoolQuery(ma.Schema):
    """Filters for pools."""

    programme = ma.fields.Enum(Programme, by_value=True, load_default=None)


class NotificationOut(ma.Schema):
    """A notification for a county bureau."""

    id = ma.fields.Integer()
    county_code = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    entity_type = ma.fields.String(allow_none=True)
    entity_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
