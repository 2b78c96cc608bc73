"""Typed values from the reverse-invoicing HTML forms; a bad value raises ValidationFailed naming its field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.limits import LARGEST_MONEY
from subsidy_app.core.text import checked_text


def text(form: Mapping[str, str], name: str, *, max_length: int = 2000) -> str:
    """Return a field's trimmed text ('' when absent); refuse control characters and over-long text."""
    return checked_text(form.get(name), field=name, max_length=max_length)


def choice(form: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """Return a field that must be one of a select's options (the browser does not enforce them)."""
    value = text(form, name)
    if value not in allowed:
        raise ValidationFailed.field(name, "请从列表中选择 / choose one of the listed values")
    return value


def decimal(form: Mapping[str, str], name: str) -> Decimal:
    """Return a required number."""
    raw = text(form, name, max_length=40).replace(",", "")
    if not raw:
        raise ValidationFailed.field(name, "必填 / required")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed.field(name, "应为数字 / must be a number") from None
    if not value.is_finite() or abs(value) > LARGEST_MONEY:
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def money(form: Mapping[str, str], name: str) -> Decimal:
    """Return a required amount in yuan with at most two decimal places."""
    value = decimal(form, name)
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed.field(name, "金额最多两位小数 / at most two decimal places")
    return value.quantize(Decimal("0.01"))


def date(form: Mapping[str, str], name: str) -> dt.date:
    """Return a required YYYY-MM-DD field as a date."""
    try:
        return dt.date.fromisoformat(text(form, name, max_length=20))
    except ValueError:
        raise ValidationFailed.field(name, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD") from None


def month(form: Mapping[str, str], name: str) -> dt.date:
    """Return a required YYYY-MM field as the month's first day."""
    try:
        return dt.date.fromisoformat(f"{text(form, name, max_length=10)}-01")
    except ValueError:
        raise ValidationFailed.field(name, "所属期格式应为 YYYY-MM / month must be YYYY-MM") from None
