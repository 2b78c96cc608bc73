"""Spot-check API schemas: plans, the draw, items and their page, task results, conclusions, rollups."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from subsidy_app.core.limits import MAX_ID
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.oversight.spot_domain import OUTCOMES, ItemState, Reason, TaskKind
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH
from subsidy_app.rules.schemas import money_field
from subsidy_app.schema_fields import Text

_OUTCOMES = sorted({o for outcomes in OUTCOMES.values() for o in outcomes})
_ID = validate.Range(min=1, max=MAX_ID)


class PlanIn(ma.Schema):
    """A sampling plan: programme, period (Beijing days) and rate in percent."""

    programme = ma.fields.String(required=True, validate=validate.OneOf(sorted(PROGRAMME_LABELS_ZH)))
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)
    rate_percent = ma.fields.Decimal(required=True, metadata={
        "description": "percent, above 0 and at most 100, at most 2 decimals (e.g. 5 for 5 %)"})
    note = Text(load_default=None, max_length=300)


class PlanOut(ma.Schema):
    """A sampling plan."""

    id = ma.fields.Integer()
    programme = ma.fields.String()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    rate_percent = ma.fields.Decimal(as_string=True, places=2)
    state = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    seed = ma.fields.String(allow_none=True)
    population = ma.fields.Integer(allow_none=True)
    sampled = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    drawn_at = ma.fields.AwareDateTime(allow_none=True)


class PlanPage(ma.Schema):
    """One page of plans."""

    plans = ma.fields.List(ma.fields.Nested(PlanOut))
    total = ma.fields.Integer()


class PageQuery(ma.Schema):
    """A page of a list."""

    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))


class DrawIn(ma.Schema):
    """A draw: the seed to use (a random one is generated and recorded when none is given)."""

    seed = Text(load_default=None, max_length=64)


class DrawOut(ma.Schema):
    """What a draw did."""

    plan_id = ma.fields.Integer()
    seed = ma.fields.String()
    population = ma.fields.Integer()
    sampled = ma.fields.Integer()
    state = ma.fields.String()


class ItemQuery(PageQuery):
    """Filters of a plan's items."""

    county = ma.fields.String(load_default=None, validate=validate.OneOf(sorted(COUNTIES)))
    dealer = ma.fields.Integer(load_default=None, validate=_ID)
    state = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in ItemState]))
    reason = ma.fields.String(load_default=None, validate=validate.OneOf([r.value for r in Reason]))


class ItemOut(ma.Schema):
    """A sampled item."""

    id = ma.fields.Integer()
    plan_id = ma.fields.Integer()
    subject_kind = ma.fields.String()
    subject_number = ma.fields.String()
    county_code = ma.fields.String()
    dealer_org_id = ma.fields.Integer(allow_none=True)
    dealer_name = ma.fields.String()
    amount = money_field()
    reason = ma.fields.String()
    state = ma.fields.String()
    tasks_done = ma.fields.Integer()
    clawed_back = money_field(allow_none=True)


class ItemPage(ma.Schema):
    """One page of items, and how many match."""

    items = ma.fields.List(ma.fields.Nested(ItemOut))
    total = ma.fields.Integer()


class ResultIn(ma.Schema):
    """One attempt or result of a task."""

    task = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in TaskKind]))
    outcome = ma.fields.String(required=True, validate=validate.OneOf(_OUTCOMES))
    note = Text(load_default=None, max_length=500, multiline=True)


class TaskOut(ma.Schema):
    """A task after a recorded result."""

    item_id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    kind = ma.fields.String()
    state = ma.fields.String()
    outcome = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()


class ConcludeIn(ma.Schema):
    """An item's conclusion; "false" needs a reason."""

    conclusion = ma.fields.String(required=True, validate=validate.OneOf([ItemState.GENUINE.value,
                                                                          ItemState.FALSE.value]))
    reason = Text(load_default=None, max_length=500, multiline=True)


class ConcludedOut(ma.Schema):
    """An item after its conclusion."""

    item_id = ma.fields.Integer()
    state = ma.fields.String()
    clawed_back = money_field()
    plan_state = ma.fields.String()


class RollupRowOut(ma.Schema):
    """One dealer's or county's figures."""

    key = ma.fields.String()
    label = ma.fields.String()
    population = ma.fields.Integer()
    sampled = ma.fields.Integer()
    rate_sampled = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    done = ma.fields.Integer()
    confirmed = ma.fields.Integer()
    rate_confirmed = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    false = ma.fields.Integer()
    clawed_back = money_field()


class RollupOut(ma.Schema):
    """A plan's figures per dealer and county."""

    plan_id = ma.fields.Integer()
    dealers = ma.fields.List(ma.fields.Nested(RollupRowOut))
    counties = ma.fields.List(ma.fields.Nested(RollupRowOut))
    total = ma.fields.Nested(RollupRowOut)
