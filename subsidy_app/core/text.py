"""Free text typed by a user: trimmed, without control characters, within its column's length."""

from __future__ import annotations

import re

from subsidy_app.core.errors import ValidationFailed

# Unicode's control characters (category Cc): C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F). None
# belongs in a name or a note: they are invisible on a page, NUL fails in PostgreSQL, and ESC (U+001B) or CSI
# (U+009B) sequences rewrite the terminal of whoever reads a log or an export. Tab and newline are text only in a
# multi-line field.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_TAB_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def checked_text(value: str | None, *, field: str, max_length: int, multiline: bool = False) -> str:
    """Return the trimmed text, or refuse it naming `field` (a control character or an over-long text would be
    stored unseen or fail in the database, where no field can be named); `multiline` admits tab and newline."""
    text = (value or "").strip()
    if multiline:
        text = text.replace("\r\n", "\n")  # browsers send a textarea's line breaks as CRLF
    if (_CONTROL_BUT_TAB_NEWLINE if multiline else _CONTROL).search(text):
        raise ValidationFailed.field(field, "含有不允许的控制字符 / contains a control character that is not allowed")
    if len(text) > max_length:
        raise ValidationFailed.field(field, f"最多 {max_length} 个字符 / at most {max_length} characters")
    return text
