"""User-typed text is checked once (core.text.checked_text): control characters are refused by field, tab and
newline only outside multi-line fields, and every input schema's free-text field goes through that check."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.text import checked_text
from subsidy_app.schema_fields import Text
from tests.helpers import bearer

# C0 (NUL, SOH, tab, newline, ESC, US), DEL and C1 (NEL, CSI): control characters, refused in one-line text.
CONTROLS = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\x9b"]
# Fields left as plain strings on purpose: a password is checked whole by the password rules, never trimmed.
RAW_STRINGS = {("AccountIn", "password")}


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_a_control_character_inside_one_line_text_is_refused_by_field(control: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        checked_text(f"离石{control}家电", field="name", max_length=200)
    assert list(refused.value.errors) == ["name"]


def test_multi_line_text_keeps_tab_and_newline_but_no_other_control() -> None:
    assert checked_text(" 第一行\r\n\t第二行 ", field="reason", max_length=500, multiline=True) == "第一行\n\t第二行"
    for control in ("\x00", "\x1b", "\x7f", "\r", "\x9b"):
        with pytest.raises(ValidationFailed):
            checked_text(f"第一行{control}第二行", field="reason", max_length=500, multiline=True)


def test_the_schema_field_refuses_like_the_form_check_and_names_the_field() -> None:
    class Note(ma.Schema):
        title = Text(max_length=10)
        body = Text(max_length=100, multiline=True)

    assert Note().load({"title": " 标题 ", "body": "一\n二"}) == {"title": "标题", "body": "一\n二"}
    with pytest.raises(ma.ValidationError) as refused:
        Note().load({"title": "a\x1bb", "body": "x" * 101})
    assert set(refused.value.messages) == {"title", "body"}


@pytest.mark.parametrize("control", ["\x01", "\x1b", "\x7f", "\n"], ids=["SOH", "ESC", "DEL", "newline"])
def test_a_store_name_with_a_control_character_is_refused_naming_name(client: FlaskClient, demo: dict[str, int],
                                                                      control: str) -> None:
    headers = bearer(client, "dealer.appliance")
    response = client.post("/api/v1/appliance-stores", headers=headers,
                           json={"name": f"离石家电{control}旗舰店", "address": "离石区龙凤大街1号"})
    body = response.get_json()
    assert response.status_code == 422, body
    assert list(body["errors"]) == ["name"]
    fine = client.post("/api/v1/appliance-stores", headers=headers,
                       json={"name": "离石家电旗舰店", "address": "离石区龙凤大街1号"})
    assert fine.status_code in (200, 201), fine.get_json()


def test_a_review_reason_typed_in_the_textarea_may_span_lines_but_not_hold_escapes() -> None:
    from subsidy_app.applications.form_input import text

    assert text({"reason": "材料不全\r\n请补交"}, "reason", max_length=500, multiline=True) == "材料不全\n请补交"
    with pytest.raises(ValidationFailed):
        text({"reason": "材料\x1b[2J不全"}, "reason", max_length=500, multiline=True)


def _string_fields(schema: ma.Schema, path: str) -> list[tuple[str, str, ma.fields.Field]]:
    found = []
    for name, field in schema.fields.items():
        inner = field.inner if isinstance(field, ma.fields.List) else field
        if isinstance(inner, ma.fields.Nested):
            found += _string_fields(inner.schema, f"{path}{name}.")
        elif isinstance(inner, ma.fields.String):
            found.append((type(schema).__name__, f"{path}{name}", inner))
    return found


def _body_schemas(app: Flask) -> list[tuple[str, ma.Schema]]:
    """Every schema a state-changing API operation reads its body (JSON, form or files) with."""
    schemas = []
    for endpoint, view in app.view_functions.items():
        for method in ("post", "put", "patch", "delete"):
            doc: dict[str, Any] = getattr(getattr(getattr(view, "view_class", None), method, None), "_apidoc", {})
            declared = [p["schema"] for p in doc.get("arguments", {}).get("parameters", []) if p["in"] != "query"]
            declared += [c["schema"] for c in doc.get("manual_doc", {}).get("requestBody", {})
                         .get("content", {}).values()]
            schemas += [(f"{method.upper()} {endpoint}", s() if isinstance(s, type) else s) for s in declared]
    return schemas


def test_every_free_text_field_of_an_input_schema_is_checked_text(app: Flask) -> None:
    schemas = _body_schemas(app)
    assert len(schemas) > 40
    unchecked = [f"{where}: {schema}.{name}" for where, body in schemas
                 for schema, name, field in _string_fields(body, "")
                 if not isinstance(field, Text) and (schema, name) not in RAW_STRINGS
                 and not any(isinstance(v, ma.validate.OneOf) for v in field.validators)]
    assert unchecked == []
