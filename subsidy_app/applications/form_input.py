"""Typed values from staff HTML forms; a bad value raises ValidationFailed naming its field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from subsidy_app import form_errors
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.limits import LARGEST_MONEY, MAX_ID
from subsidy_app.core.text import checked_text


def text(form: Mapping[str, str], name: str, *, max_length: int = 2000, multiline: bool = False) -> str:
    """Return a field's trimmed text ('' when absent); refuse control characters (tab and newline only in a
    multi-line field, a textarea) and over-long text by field."""
    return checked_text(form.get(name), field=name, max_length=max_length, multiline=multiline)


def choice(form: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """Return a field that must be one of `allowed` (a select's options; the browser does not enforce them)."""
    value = text(form, name)
    if value not in allowed:
        raise ValidationFailed.field(name, "请从列表中选择 / choose one of the listed values")
    return value


def optional_decimal(form: Mapping[str, str], name: str) -> Decimal | None:
    """Return a field as a Decimal, or None when it is empty."""
    raw = text(form, name).replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed.field(name, "应为数字 / must be a number") from None
    if not value.is_finite():
        raise ValidationFailed.field(name, "应为数字 / must be a number")
    if abs(value) > LARGEST_MONEY:  # no figure on these forms comes near; Decimal arithmetic would overflow
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def decimal(form: Mapping[str, str], name: str) -> Decimal:
    """Return a required field as a Decimal."""
    value = optional_decimal(form, name)
    if value is None:
        raise ValidationFailed.field(name, "必填 / required")
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
        return dt.date.fromisoformat(text(form, name))
    except ValueError:
        raise ValidationFailed.field(name, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD") from None


def integer(form: Mapping[str, str], name: str) -> int:
    """Return a required whole-number field."""
    try:
        value = int(text(form, name))
    except ValueError:
        raise ValidationFailed.field(name, "应为整数 / must be a whole number") from None
    if abs(value) > MAX_ID:
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def ids(values: list[str], name: str) -> list[int]:
    """Return the ticked ids of a checkbox list; at least one is required."""
    try:
        chosen = list(dict.fromkeys(int(v) for v in values))
    except ValueError:
        raise ValidationFailed.field(name, "选择无效 / invalid selection") from None
    if any(not 0 < i <= MAX_ID for i in chosen):
        raise ValidationFailed.field(name, "选择无效 / invalid selection")
    if not chosen:
        raise ValidationFailed.field(name, "请至少勾选一项 / tick at least one")
    return chosen


def page_error(exc: DomainError, labels: Mapping[str, str]) -> dict[str, Any]:
    """Describe a domain error for an office's page: each field's messages led by its label, to show beside it."""
    return form_errors.for_staff(exc, labels=labels)
