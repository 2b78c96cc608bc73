"""A refused form for its page: each field's messages to show beside the field, and what the top of the form says.

Domain errors carry bilingual messages ("中文 / English") keyed by field name; the JSON API sends them as they are.
A resident's page shows the Chinese half only, an office's page the whole message led by the field's label, and
neither repeats a message: the top of the form names the fields (linking to them) and shows only a message that
is not one of theirs (templates/_form_errors.html renders both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from subsidy_app.core.errors import DomainError

PageError = dict[str, Any]  # {"message": str | None, "fields": {field: [message, ...]}}


def chinese(message: str) -> str:
    """Return the Chinese half of a bilingual "中文 / English" message (all of it when it has no English half)."""
    return message.split(" / ", 1)[0].strip()


def _fields(exc: DomainError, aliases: Mapping[str, str]) -> dict[str, list[str]]:
    """The error's messages by the form's field names (a use case may name a field as its API does), each once."""
    fields: dict[str, list[str]] = {}
    for name, messages in exc.errors.items():
        shown = fields.setdefault(aliases.get(name, name), [])
        shown.extend(m for m in dict.fromkeys(str(m) for m in messages) if m not in shown)
    return fields


def _own_message(exc: DomainError) -> str | None:
    """The error's message unless it only strings together its fields' ("field: message; field: message")."""
    repeats = {f"{name}: {message}" for name, messages in exc.errors.items() for message in messages}
    parts = [part.strip() for part in exc.message.split("; ")]
    generic = exc.status == 422 and chinese(exc.message) == "输入有误"  # the API's "invalid input", fields follow
    if exc.errors and (generic or all(part in repeats for part in parts)):
        return None
    return exc.message


def for_resident(exc: DomainError, *, aliases: Mapping[str, str] | None = None) -> PageError:
    """Describe a refusal for a resident's page: Chinese only, each message once."""
    fields = {name: list(dict.fromkeys(chinese(m) for m in messages))
              for name, messages in _fields(exc, aliases or {}).items()}
    message = _own_message(exc)
    return {"message": chinese(message) if message else None, "fields": fields}


def for_staff(exc: DomainError, *, labels: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> PageError:
    """Describe a refusal for an office's page: every field message led by the field's label (its name when the
    form has no label for it)."""
    fields = {name: [f"{labels.get(name, name)}:{m}" for m in messages]
              for name, messages in _fields(exc, aliases or {}).items()}
    return {"message": _own_message(exc), "fields": fields}


def resident_line(exc: DomainError, *, labels: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> str:
    """One Chinese line where no field is beside it (a flash, an error page): each field's label and message."""
    error = for_resident(exc, aliases=aliases)
    lines = [f"{labels.get(name, '')}{':' if name in labels else ''}{m}"
             for name, messages in error["fields"].items() for m in messages]
    return ";".join(([error["message"]] if error["message"] else []) + lines) or chinese(exc.message)
