"""Typed values from the recycling pages' forms and filters; a bad value raises ValidationFailed naming its field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.limits import LARGEST_WEIGHT, MAX_ID
from subsidy_app.core.text import checked_text


def decimal(form: Mapping[str, str], name: str) -> Decimal:
    """Return a required number (a weight)."""
    try:
        value = Decimal(form.get(name, "").strip())
    except InvalidOperation:
        raise ValidationFailed.field(name, "应为数字 / must be a number") from None
    if not value.is_finite() or abs(value) > LARGEST_WEIGHT:  # shown on the form, not as the API's JSON error
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def day(form: Mapping[str, str], name: str) -> dt.date:
    """Return a required date written YYYY-MM-DD (as a date input sends it)."""
    try:
        return dt.date.fromisoformat(form.get(name, "").strip())
    except ValueError:
        raise ValidationFailed.field(name, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD") from None


def optional_day(form: Mapping[str, str], name: str) -> dt.date | None:
    """Return a date, or None when the field is empty (a filter not set)."""
    return day(form, name) if form.get(name, "").strip() else None


def whole(form: Mapping[str, str], name: str) -> int:
    """Return a required whole number (a count or an id)."""
    try:
        value = int(form.get(name, "").strip())
    except ValueError:
        raise ValidationFailed.field(name, "应为整数 / must be a whole number") from None
    if abs(value) > MAX_ID:  # shown on the form, not as the API's JSON error
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def text(form: Mapping[str, str], name: str, *, max_length: int = 2000) -> str:
    """Return a field's trimmed text ('' when absent); control characters and over-long text are refused."""
    return checked_text(form.get(name), field=name, max_length=max_length)


def choice(form: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """Return a field that must be one of a select's options (the browser does not enforce them)."""
    value = text(form, name)
    if value not in allowed:
        raise ValidationFailed.field(name, "请从列表中选择 / choose one of the listed values")
    return value
