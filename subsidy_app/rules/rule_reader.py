"""Reading rule files: strict YAML, and typed field access whose errors name the file and the field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import yaml

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.rules.file_form import Provenance

_T = TypeVar("_T")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
META_KEYS = frozenset({"source", "unconfirmed", "local", "note"})


class RuleFileInvalid(ValidationFailed):
    """A rule file is malformed; names the file and the field."""

    default_reason = "rules.file_invalid"

    def __init__(self, file: str, field_path: str, problem: str) -> None:
        where = f"{file}: {field_path}" if field_path else file  # empty path: the file as a whole
        super().__init__(f"{where}: {problem}", errors={field_path or "file": [problem]})
        self.file = file
        self.field_path = field_path
        self.problem = problem


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class FieldReader:
    """Typed access to a parsed mapping that reports errors with file and field path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, problem: str) -> RuleFileInvalid:
        return RuleFileInvalid(self.file, path, problem)

    def mapping(self, value: object, path: str, allowed: Iterable[str] | None = None) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping")
        if allowed is not None:
            unknown = sorted(str(k) for k in value if k not in set(allowed))
            if unknown:
                raise self.fail(f"{path}.{unknown[0]}" if path else unknown[0], "unknown field")
        return value

    def req(self, m: Mapping[Any, Any], key: str, path: str) -> object:
        if key not in m or m[key] is None:
            raise self.fail(join_path(path, key), "is required")
        return m[key]

    def text(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "must be a non-empty string")
        return value

    def code(self, value: object, path: str, pattern: re.Pattern[str] = CODE_RE) -> str:
        s = self.text(value, path)
        if not pattern.match(s):
            raise self.fail(path, f"{s!r} is not a valid code")
        return s

    def integer(self, value: object, path: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"must be an integer ≥ {minimum}")
        return value

    def flag(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "must be true or false")
        return value

    def day(self, value: object, path: str) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(path, "must be a date YYYY-MM-DD")

    def opt_day(self, value: object, path: str) -> date | None:
        return None if value is None else self.day(value, path)

    def decimal(self, value: object, path: str, *, places: int | None = None) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(path, "must be a number")
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(path, "must be a number") from None
        if not d.is_finite() or d <= 0:
            raise self.fail(path, "must be a positive number")
        if places is not None and d != d.quantize(Decimal(1).scaleb(-places)):
            raise self.fail(path, f"must have at most {places} decimal places")
        return d

    def money(self, value: object, path: str, places: int) -> Decimal:
        # Stored at the fen whatever the file wrote (20000, 20000.0, "20000.00" are one amount).
        return self.decimal(value, path, places=places).quantize(Decimal("0.01"))

    def percent(self, value: object, path: str) -> Decimal:
        d = self.decimal(value, path)
        if d > 100:
            raise self.fail(path, "must be a percentage ≤ 100")
        return d

    def choice(self, value: object, path: str, enum: Callable[[str], _T], choices: Iterable[str]) -> _T:
        options = list(choices)
        if not isinstance(value, str) or value not in options:
            raise self.fail(path, f"must be one of {', '.join(options)}")
        return enum(value)

    def items(self, value: object, path: str) -> list[object]:
        if not isinstance(value, list):
            raise self.fail(path, "must be a list")
        return value

    def meta(self, m: Mapping[Any, Any], path: str, *, source_required: bool) -> Provenance:
        source = m.get("source")
        if source_required and source is None:
            raise self.fail(join_path(path, "source"), "is required: cite where the numbers come from")
        return Provenance(
            source=None if source is None else self.text(source, join_path(path, "source")),
            unconfirmed=self.flag(m.get("unconfirmed", False), join_path(path, "unconfirmed")),
            local=self.flag(m.get("local", False), join_path(path, "local")),
            note=None if m.get("note") is None else self.text(m["note"], join_path(path, "note")),
        )


def join_path(path: str, key: str) -> str:
    """Append a key to a dotted field path (the root path is empty)."""
    return f"{path}.{key}" if path else key


def load_yaml(text: str, label: str) -> object:
    """Parse rule-file YAML text, refusing duplicate keys; raise RuleFileInvalid naming the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise RuleFileInvalid(label, where, f"is not valid YAML: {getattr(exc, 'problem', exc)}") from None
