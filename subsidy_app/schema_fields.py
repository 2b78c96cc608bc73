"""Marshmallow fields every package's input schemas share, and the one schema of a refused upload row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.text import checked_text

FREE_TEXT_MAX = 2000  # the bound of a field whose column is wider or whose own check (an identifier's) is stricter


class Text(ma.fields.String):
    """User-typed text, checked like the HTML forms' by core.text.checked_text: trimmed, no control characters (tab
    and newline only when `multiline`), at most `max_length` characters."""

    def __init__(self, *, max_length: int = FREE_TEXT_MAX, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length, self.multiline = max_length, multiline
        self.validators.append(ma.validate.Length(max=max_length))  # documents maxLength; checked_text enforces it

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return checked_text(text, field=attr or self.name or "text", max_length=self.max_length,
                                multiline=self.multiline)
        except ValidationFailed as exc:
            raise ma.ValidationError(next(iter(exc.errors.values()))) from None


class RowErrorOut(ma.Schema):
    """One refused row of an uploaded table (core.tables.RowError): its line, the field, a stable reason, why."""

    line = ma.fields.Integer()
    field = ma.fields.String()
    reason = ma.fields.String()
    message = ma.fields.String()
