"""Free text typed by a user: trimmed, without what the database refuses, within its column's length."""

from __future__ import annotations

from subsidy_app.core.errors import ValidationFailed


def checked_text(value: str | None, *, field: str, max_length: int) -> str:
    """Return the trimmed text, or refuse it naming `field` (a NUL or an over-long text would fail in the database,
    where no field can be named)."""
    text = (value or "").strip()
    if "\x00" in text:
        raise ValidationFailed.field(field, "含有不允许的字符 / contains a character that is not allowed")
    if len(text) > max_length:
        raise ValidationFailed.field(field, f"最多 {max_length} 个字符 / at most {max_length} characters")
    return text
