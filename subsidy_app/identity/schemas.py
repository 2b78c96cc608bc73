"""Identity request and response schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from subsidy_app.core.limits import MAX_ID
from subsidy_app.identity.domain import COUNTIES, OrgKind, Role
from subsidy_app.schema_fields import Text

county_field = ma.fields.String(validate=validate.OneOf(list(COUNTIES)))


class PrincipalOut(ma.Schema):
    """Who the caller is."""

    kind = ma.fields.String()
    account_id = ma.fields.Integer(allow_none=True)
    username = ma.fields.String()
    organisation_id = ma.fields.Integer(allow_none=True)
    organisation_kind = ma.fields.String(allow_none=True)
    roles = ma.fields.List(ma.fields.String())
    counties = ma.fields.List(ma.fields.String())
    all_counties = ma.fields.Boolean()
    via = ma.fields.String()


class TokenIn(ma.Schema):
    """A token request."""

    name = Text(required=True, validate=validate.Length(min=1), max_length=100)
    account_id = ma.fields.Integer(load_default=None)


class TokenOut(ma.Schema):
    """A new token; `token` is shown only in this response."""

    id = ma.fields.Integer()
    token = ma.fields.String()


class TokenListItem(ma.Schema):
    """A token without its secret."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String()
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)


class OrganisationIn(ma.Schema):
    """An organisation to register."""

    kind = ma.fields.Enum(OrgKind, by_value=True, required=True)
    name = Text(required=True, validate=validate.Length(min=2), max_length=200)
    credit_code = Text(required=True)
    county_code = ma.fields.String(required=True, validate=validate.OneOf(list(COUNTIES)))
    city_level = ma.fields.Boolean(load_default=False)


class OrganisationOut(ma.Schema):
    """An organisation."""

    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    credit_code = ma.fields.String()
    credit_code_warning = ma.fields.String(allow_none=True)
    county_code = ma.fields.String()
    city_level = ma.fields.Boolean()
    active = ma.fields.Boolean()


class OrganisationQuery(ma.Schema):
    """Filters for listing organisations."""

    kind = ma.fields.Enum(OrgKind, by_value=True, load_default=None)
    county_code = ma.fields.String(load_default=None, validate=validate.OneOf(list(COUNTIES)))


class AccountIn(ma.Schema):
    """A staff account to create."""

    organisation_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    username = Text(required=True, validate=validate.Regexp(r"^[a-z0-9_.-]{3,60}$"))
    display_name = Text(required=True, validate=validate.Length(min=1), max_length=60)
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    roles = ma.fields.List(ma.fields.Enum(Role, by_value=True), required=True, validate=validate.Length(min=1))
    counties = ma.fields.List(county_field, load_default=None)
    all_counties = ma.fields.Boolean(load_default=False)


class IdOut(ma.Schema):
    """The id of what was created."""

    id = ma.fields.Integer()


class PersonIn(ma.Schema):
    """A person to register (resident or scrap seller)."""

    name = Text(required=True)
    id_number = Text(required=True)
    phone = Text(load_default=None)


class PersonOut(ma.Schema):
    """A person, masked unless the caller's role needs clear values."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    id_number = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    revealed = ma.fields.Boolean()
