"""Recycling request and response schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from recycling.domain import CATEGORIES, Indicator, IntakeSource, QualificationKind, SiteLevel
from recycling.site_kinds import SiteKind
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.schema_fields import RowErrorOut, Text

county = validate.OneOf(list(COUNTIES))
category = validate.OneOf(list(CATEGORIES))


def kg_field() -> ma.fields.Decimal:
    """Return a kilogram field (3 decimals, as a string so no float creeps in)."""
    return ma.fields.Decimal(as_string=True, places=3)


def money_field() -> ma.fields.Decimal:
    """Return a money field (2 decimals, as a string)."""
    return ma.fields.Decimal(as_string=True, places=2)


class QualificationIn(ma.Schema):
    """A licence to record."""

    kind = ma.fields.Enum(QualificationKind, by_value=True, required=True)
    number = Text(required=True, validate=validate.Length(min=1), max_length=60)
    valid_from = ma.fields.Date(required=True)
    valid_to = ma.fields.Date(load_default=None)


class QualificationOut(ma.Schema):
    """A licence."""

    id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    kind = ma.fields.String()
    number = ma.fields.String()
    valid_from = ma.fields.Date()
    valid_to = ma.fields.Date(allow_none=True)
    valid_today = ma.fields.Boolean()


class SiteIn(ma.Schema):
    """A site to register (admins name the recycler; clerks register for their own)."""

    organisation_id = ma.fields.Integer(load_default=None)
    code = Text(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,30}$"))
    name = Text(required=True, validate=validate.Length(min=1), max_length=100)
    level = ma.fields.Enum(SiteLevel, by_value=True, required=True)
    kind = ma.fields.Enum(SiteKind, by_value=True, load_default=SiteKind.GENERAL,
                          metadata={"description": "what the site takes in: vehicles (a dismantler's), renewable "
                                                   "(appliances, office equipment, materials) or general (both)"})
    county_code = ma.fields.String(required=True, validate=county)
    address = Text(load_default="", max_length=200)


class SiteOut(ma.Schema):
    """A site."""

    id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    level = ma.fields.String()
    kind = ma.fields.String()
    county_code = ma.fields.String()
    address = ma.fields.String()
    active = ma.fields.Boolean()


class StockOut(ma.Schema):
    """A site's stock of one category."""

    category = ma.fields.String()
    units = ma.fields.Integer()
    weight_kg = kg_field()


class CertificateIn(ma.Schema):
    """A scrap certificate to issue (DOMAIN §3 fields)."""

    number = Text(required=True)
    owner_kind = ma.fields.String(load_default="person", validate=validate.OneOf(["person", "organisation"]))
    owner_name = Text(required=True)
    owner_id_number = Text(required=True)
    phone = Text(load_default=None)
    address = Text(load_default=None, max_length=200)
    handover_date = ma.fields.Date(required=True)
    first_registration_date = ma.fields.Date(required=True)
    plate = Text(required=True)
    vehicle_type = Text(required=True)
    use_type = Text(required=True)
    make_model = Text(required=True)
    vin = Text(required=True)
    curb_weight_kg = ma.fields.Decimal(required=True)
    fuel_type = Text(required=True)
    engine_number = Text(required=True)
    battery_code = Text(load_default=None)
    site_id = ma.fields.Integer(load_default=None)


class CertificateOut(ma.Schema):
    """A certificate as staff see it (personal data masked)."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    dismantler_org_id = ma.fields.Integer()
    state = ma.fields.String()
    owner_name = ma.fields.String()
    owner_id_number = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    handover_date = ma.fields.Date()
    first_registration_date = ma.fields.Date()
    plate = ma.fields.String()
    vehicle_type = ma.fields.String()
    use_type = ma.fields.String()
    make_model = ma.fields.String()
    vin = ma.fields.String()
    curb_weight_kg = kg_field()
    fuel_type = ma.fields.String()
    engine_number = ma.fields.String()
    battery_code = ma.fields.String(allow_none=True)
    licence_valid_on_issue = ma.fields.Boolean()
    used_by_ref = ma.fields.String(allow_none=True)
    revoked_reason = ma.fields.String(allow_none=True)
    issued_at = ma.fields.DateTime()
    verify_url = ma.fields.String()


class ReasonIn(ma.Schema):
    """A reason for a revocation or correction."""

    reason = Text(required=True, validate=validate.Length(min=1), max_length=200, multiline=True)


class StateQuery(ma.Schema):
    """Filter by state."""

    state = ma.fields.String(load_default=None)


class IntakeIn(ma.Schema):
    """An intake to record."""

    site_id = ma.fields.Integer(required=True)
    source = ma.fields.Enum(IntakeSource, by_value=True, required=True)
    category = ma.fields.String(required=True, validate=category)
    units = ma.fields.Integer(required=True, strict=True)
    weight_kg = ma.fields.Decimal(required=True)
    occurred_on = ma.fields.Date(required=True)
    certificate_id = ma.fields.Integer(load_default=None)
    trade_in_ref = Text(load_default=None, max_length=80)
    note = Text(load_default="", max_length=200, multiline=True)


class IntakeOut(ma.Schema):
    """An intake record."""

    id = ma.fields.Integer()
    site_id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    county_code = ma.fields.String()
    source = ma.fields.String()
    category = ma.fields.String()
    units = ma.fields.Integer()
    weight_kg = kg_field()
    occurred_on = ma.fields.Date()
    certificate_id = ma.fields.Integer(allow_none=True)
    trade_in_ref = ma.fields.String(allow_none=True)
    reverses_id = ma.fields.Integer(allow_none=True)
    reversed_by_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String()
    recorded_by = ma.fields.String()


class IntakeQuery(ma.Schema):
    """Filters for intake records."""

    site_id = ma.fields.Integer(load_default=None)
    date_from = ma.fields.Date(load_default=None)
    date_to = ma.fields.Date(load_default=None)
    limit = ma.fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class CorrectionIn(ma.Schema):
    """A correction: a reason and, optionally, the record that should have been made."""

    reason = Text(required=True, validate=validate.Length(min=1), max_length=200, multiline=True)
    replacement = ma.fields.Nested(IntakeIn, load_default=None)


class CorrectionOut(ma.Schema):
    """The records a correction wrote."""

    reversal_id = ma.fields.Integer()
    replacement_id = ma.fields.Integer(allow_none=True)


class ImportForm(ma.Schema):
    """How to import a bulk file (query string: ?mode=valid_only)."""

    mode = ma.fields.String(load_default="all_or_nothing", validate=validate.OneOf(["all_or_nothing", "valid_only"]))


class ImportFile(ma.Schema):
    """The uploaded file."""

    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportOut(ma.Schema):
    """A bulk import's outcome."""

    import_id = ma.fields.Integer()
    status = ma.fields.String()
    mode = ma.fields.String()
    rows_total = ma.fields.Integer()
    rows_written = ma.fields.Integer()
    errors = ma.fields.List(ma.fields.Nested(RowErrorOut))
    job_id = ma.fields.Integer(allow_none=True)


class TransferIn(ma.Schema):
    """Material to move between sites."""

    from_site_id = ma.fields.Integer(required=True)
    to_site_id = ma.fields.Integer(required=True)
    category = ma.fields.String(required=True, validate=category)
    units = ma.fields.Integer(required=True, strict=True)
    weight_kg = ma.fields.Decimal(required=True)
    occurred_on = ma.fields.Date(required=True)


class RecyclingIdOut(ma.Schema):
    """The id of what was created."""

    id = ma.fields.Integer()


class IndicatorQuery(ma.Schema):
    """Which indicator, when and where."""

    indicator = ma.fields.Enum(Indicator, by_value=True, required=True)
    as_of = ma.fields.Date(load_default=None)
    year = ma.fields.Integer(load_default=None, validate=validate.Range(min=2023, max=2030))
    county_code = ma.fields.String(load_default=None, validate=county)
