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


class ProposalIn(ma.Schema):
    """A proposal to add money to a pool: a top-up from a funding source, or a reallocation from another pool."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(["top_up", "reallocate"]),
                            metadata={"description": "top_up 追加资金 | reallocate 资金调剂"})
    amount = ma.fields.Decimal(required=True, places=2, validate=positive)
    reason = Text(required=True, validate=validate.Length(min=2), max_length=300, multiline=True)
    source = ma.fields.String(load_default=None, validate=validate.OneOf(["central", "provincial", "city"]),
                              metadata={"description": "required for a top-up"})
    from_pool_id = ma.fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=2**63 - 1),
                                     metadata={"description": "required for a reallocation"})


class ProposalOut(ma.Schema):
    """A proposal and its decision: only another officer's approval moves the money."""

    id = ma.fields.Integer()
    kind = ma.fields.String()
    pool_id = ma.fields.Integer()
    from_pool_id = ma.fields.Integer(allow_none=True)
    source = ma.fields.String(allow_none=True)
    amount = money_field()
    reason = ma.fields.String()
    state = ma.fields.String(metadata={"description": "proposed | approved | rejected"})
    proposed_by = ma.fields.String()
    proposed_at = ma.fields.DateTime()
    decided_by = ma.fields.String(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    decision_note = ma.fields.String(allow_none=True)


class ProposalPage(ma.Schema):
    """One page of a pool's proposals, newest first."""

    items = ma.fields.List(ma.fields.Nested(ProposalOut))
    total = ma.fields.Integer()


class ProposalListQuery(ma.Schema):
    """Paging of a pool's proposals."""

    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class RejectionIn(ma.Schema):
    """Why a proposal is turned down."""

    note = Text(required=True, validate=validate.Length(min=2), max_length=300, multiline=True)


class ApprovalOut(ma.Schema):
    """An approved proposal and how many waiting approvals its money funded."""

    proposal = ma.fields.Nested(ProposalOut)
    funded = ma.fields.Integer()


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
