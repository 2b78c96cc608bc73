"""Schemas of the review-deadline and review-time endpoints."""

from __future__ import annotations

import marshmallow as ma


class ReviewTimesQuery(ma.Schema):
    """Which first decisions to measure."""

    from_ = ma.fields.Date(data_key="from", load_default=None, metadata={"description": "首个决定日期起(北京时间)"})
    to = ma.fields.Date(load_default=None, metadata={"description": "首个决定日期止(含)"})
    county = ma.fields.String(load_default=None, metadata={"description": "县(市、区)代码;不给则为您管辖的全部"})
    programme = ma.fields.String(load_default=None)


class ReviewTimeOut(ma.Schema):
    """One county's first decisions of one ISO week."""

    county_code = ma.fields.String()
    county_name = ma.fields.String()
    week = ma.fields.Date(metadata={"description": "the Monday of the ISO week (Beijing time)"})
    iso_week = ma.fields.String()
    reviewed = ma.fields.Integer()
    median_hours = ma.fields.Decimal(as_string=True)
    p90_hours = ma.fields.Decimal(as_string=True)


class ReviewTimesOut(ma.Schema):
    """Median and 90th percentile review time per county per week, and what is measured."""

    date_from = ma.fields.Date(data_key="from")
    date_to = ma.fields.Date(data_key="to")
    measured = ma.fields.String()
    rows = ma.fields.Nested(ReviewTimeOut, many=True)


class OverdueQuery(ma.Schema):
    """Which county's overdue applications."""

    county = ma.fields.String(load_default=None)


class OverdueGroupOut(ma.Schema):
    """Overdue applications of one reviewer (key null: unassigned) or one county."""

    key = ma.fields.String(allow_none=True)
    label = ma.fields.String()
    count = ma.fields.Integer()
    oldest_submitted_at = ma.fields.DateTime()
    oldest_age_days = ma.fields.Integer()
    queue_url = ma.fields.String()


class OverdueOut(ma.Schema):
    """Applications awaiting review past their limit, per reviewer and per county."""

    total = ma.fields.Integer()
    by_reviewer = ma.fields.Nested(OverdueGroupOut, many=True)
    by_county = ma.fields.Nested(OverdueGroupOut, many=True)
