"""Schemas of the recovery side: used cars, the closed loop, baselines, progress, series and reports."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from recycling.schemas import county, money_field
from subsidy_app.schema_fields import Text


class UsedCarIn(ma.Schema):
    """A used-car transfer to register."""

    vin = Text(required=True)
    transferred_on = ma.fields.Date(required=True)
    price = ma.fields.Decimal(required=True)
    county_code = ma.fields.String(required=True, validate=county)


class UsedCarOut(ma.Schema):
    """A registered transfer and whether this report counted it."""

    id = ma.fields.Integer()
    counted = ma.fields.Boolean()


class ObligationOut(ma.Schema):
    """A hand-in obligation."""

    id = ma.fields.Integer()
    trade_in_ref = ma.fields.String()
    kind = ma.fields.String()
    dealer_org_id = ma.fields.Integer()
    county_code = ma.fields.String()
    category = ma.fields.String()
    occurred_on = ma.fields.Date()
    due_on = ma.fields.Date()
    certificate_id = ma.fields.Integer(allow_none=True)
    picked_up_on = ma.fields.Date(allow_none=True)
    matched_intake_id = ma.fields.Integer(allow_none=True)
    closed_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String()


class ObligationQuery(ma.Schema):
    """Filters for obligations."""

    status = ma.fields.String(load_default=None, validate=validate.OneOf(["open", "closed", "overdue"]))


class PickupIn(ma.Schema):
    """A dealer's pickup of an old item."""

    picked_up_on = ma.fields.Date(required=True)
    site_id = ma.fields.Integer(load_default=None)
    weight_kg = ma.fields.Decimal(load_default=None)


class PickupOut(ma.Schema):
    """What a pickup recorded."""

    obligation_id = ma.fields.Integer()
    intake_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()


class ClosureQuery(ma.Schema):
    """How to group the closure report."""

    by = ma.fields.String(load_default="county", validate=validate.OneOf(["county", "dealer"]))
    date_from = ma.fields.Date(load_default=None)
    date_to = ma.fields.Date(load_default=None)


class ClosureOut(ma.Schema):
    """Closure figures for one dealer or county."""

    key = ma.fields.String()
    name = ma.fields.String()
    total = ma.fields.Integer()
    closed = ma.fields.Integer()
    closed_on_time = ma.fields.Integer()
    open = ma.fields.Integer()
    overdue = ma.fields.Integer()
    closure_rate = ma.fields.Decimal(as_string=True, allow_none=True)
    on_time_rate = ma.fields.Decimal(as_string=True, allow_none=True)


class HandInDaysIn(ma.Schema):
    """The hand-in deadline for a trade-in kind."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(["car", "appliance"]))
    days = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=365))


class LoadedOut(ma.Schema):
    """How many rows were loaded."""

    baselines = ma.fields.Integer()
    targets = ma.fields.Integer()


class ProgressOut(ma.Schema):
    """An indicator's standing against the straight-line path."""

    indicator = ma.fields.String()
    as_of = ma.fields.Date()
    baseline_year = ma.fields.Integer()
    baseline = money_field()
    target_year = ma.fields.Integer()
    target = money_field()
    annual_target = money_field()
    ytd = money_field()
    expected_ytd = money_field()
    progress_percent = ma.fields.Decimal(as_string=True, allow_none=True)
    run_rate = money_field()
    forecast = money_field()
    on_track = ma.fields.Boolean()


class SeriesPointOut(ma.Schema):
    """One month of a time series."""

    month = ma.fields.String()
    actual = money_field()
    cumulative = money_field()
    expected_cumulative = money_field()
    annual_target = money_field()


class SeriesOut(ma.Schema):
    """A year's monthly series of an indicator."""

    indicator = ma.fields.String()
    year = ma.fields.Integer()
    counties = ma.fields.List(ma.fields.String())
    points = ma.fields.List(ma.fields.Nested(SeriesPointOut))


class VolumeQuery(ma.Schema):
    """The dashboard grid's year and county."""

    year = ma.fields.Integer(required=True, validate=validate.Range(min=2020, max=2100))
    county_code = ma.fields.String(load_default=None, validate=county)


class VolumeOut(ma.Schema):
    """One cell of the dashboard grid: county × category × month."""

    county_code = ma.fields.String()
    category = ma.fields.String()
    month = ma.fields.Integer()
    units = ma.fields.Integer()
    weight_kg = ma.fields.Decimal(as_string=True, places=3)


class ReportIn(ma.Schema):
    """A report to make."""

    period = Text(required=True, metadata={"description": "YYYY-MM-1|2|3 (ten-day) or YYYY-MM"})
    replace = ma.fields.Boolean(load_default=False)


class ReportQuery(ma.Schema):
    """Filter reports by kind."""

    kind = ma.fields.String(load_default=None, validate=validate.OneOf(["ten_day", "monthly"]))


class ReportOut(ma.Schema):
    """A stored report."""

    id = ma.fields.Integer()
    period = ma.fields.String()
    kind = ma.fields.String()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    generated_by = ma.fields.String()
    generated_at = ma.fields.DateTime()
    download_url = ma.fields.String()


class ReportJobRef(ma.Schema):
    """A job accepted for background work; poll /api/v1/jobs/<id>."""

    job_id = ma.fields.Integer()
    status_url = ma.fields.String()
