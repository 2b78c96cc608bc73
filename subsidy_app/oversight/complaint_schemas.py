"""Complaint and appeal schemas: filing by phone, the list's filters, a case, assign and answer."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from subsidy_app.core.limits import MAX_ID
from subsidy_app.oversight.complaint_domain import TEXT_MAX, CaseKind, CaseState, Category
from subsidy_app.schema_fields import Text

_ID = validate.Range(min=1, max=MAX_ID)


class PhoneCaseIn(ma.Schema):
    """A phone complaint a clerk records."""

    category = ma.fields.String(required=True, validate=validate.OneOf(
        [c.value for c in Category], error="请选择投诉类别 / choose a category"))
    text = Text(required=True, multiline=True, max_length=TEXT_MAX,
                validate=validate.Length(min=1, error="请填写投诉内容 / please describe the matter"))
    application_number = Text(load_default=None, max_length=24)
    county_code = Text(load_default=None, max_length=6)


class CaseQuery(ma.Schema):
    """The list's filters and page."""

    state = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in CaseState]))
    kind = ma.fields.String(load_default=None, validate=validate.OneOf([k.value for k in CaseKind]))
    category = ma.fields.String(load_default=None, validate=validate.OneOf([c.value for c in Category]))
    county = ma.fields.String(load_default=None, validate=validate.Length(equal=6))
    overdue = ma.fields.Boolean(load_default=None)
    assignee = ma.fields.Integer(load_default=None, validate=_ID)
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_ID))
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class StepOut(ma.Schema):
    """One step of a case's history."""

    action = ma.fields.String()
    action_label = ma.fields.String()
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String()
    actor = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime()


class CaseRowOut(ma.Schema):
    """A case as the list shows it."""

    id = ma.fields.Integer()
    number = ma.fields.String()
    kind = ma.fields.String()
    kind_label = ma.fields.String()
    category = ma.fields.String()
    category_label = ma.fields.String()
    channel = ma.fields.String()
    state = ma.fields.String()
    state_label = ma.fields.String()
    county_code = ma.fields.String()
    application_id = ma.fields.Integer(allow_none=True)
    application_number = ma.fields.String(allow_none=True)
    assignee_id = ma.fields.Integer(allow_none=True)
    assignee_name = ma.fields.String(allow_none=True)
    deadline = ma.fields.Date()
    overdue = ma.fields.Boolean()
    overdue_since = ma.fields.DateTime(allow_none=True)
    needs_city = ma.fields.Boolean()
    outcome = ma.fields.String(allow_none=True)
    reply = ma.fields.String(allow_none=True)
    filed_at = ma.fields.DateTime()
    closed_at = ma.fields.DateTime(allow_none=True)


class CaseOut(CaseRowOut):
    """A case as staff of its county see it: with the resident's text and the history."""

    text = ma.fields.String()
    steps = ma.fields.List(ma.fields.Nested(StepOut))


class CasePageOut(ma.Schema):
    """One page of cases and how many match."""

    items = ma.fields.List(ma.fields.Nested(CaseRowOut))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class AssignIn(ma.Schema):
    """Who takes the case (none: the caller)."""

    assignee_id = ma.fields.Integer(load_default=None, validate=_ID)


class AnswerIn(ma.Schema):
    """The reply the resident reads."""

    reply = Text(required=True, multiline=True, max_length=TEXT_MAX,
                 validate=validate.Length(min=1, error="请填写答复内容 / please write the reply"))
