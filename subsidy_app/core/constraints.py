"""What each database constraint means to a user: one registry from constraint name to a stable reason.

The database holds every "one X per Y" rule (a unique or partial unique index) and every "never below / above"
rule (a CHECK). When one of them refuses a write, the IntegrityError names the constraint; this module turns
that name into the error a client sees, so no user is ever shown a bare "integrity" conflict. Each package
registers its constraints next to its models; a test walks the metadata and fails on any it forgot.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from subsidy_app.core.db import Base
from subsidy_app.core.errors import Conflict, DomainError, ValidationFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Meaning:
    """What a refused write means: a 409 conflict with existing data, or a 422 naming the field at fault."""

    reason: str
    message: str
    field: str | None = None  # set: the value was wrong (422 naming it); unset: it clashes with a record (409)

    def error(self) -> DomainError:
        """Build the client error."""
        if self.field is not None:
            return ValidationFailed(f"{self.field}: {self.message}", reason=self.reason,
                                    errors={self.field: [self.message]})
        return Conflict(self.message, reason=self.reason)


_MEANINGS: dict[str, Meaning] = {}


def register(name: str, reason: str, message: str, *, field: str | None = None) -> None:
    """Say what a refusal by the named constraint or unique index means (one meaning per name)."""
    meaning = Meaning(reason, message, field)
    if _MEANINGS.setdefault(name, meaning) != meaning:
        raise ValueError(f"constraint {name} already has a different meaning")


def registered() -> dict[str, Meaning]:
    """Every registered meaning by constraint name (for the completeness test)."""
    return dict(_MEANINGS)


def constraint_name(exc: IntegrityError) -> str | None:
    """The name of the constraint that refused the write, from PostgreSQL's diagnostics or SQLite's message."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    return _sqlite_constraint(str(exc.orig))


def error_for(exc: IntegrityError) -> DomainError:
    """The client error for a refused write: its constraint's registered meaning, else one derived from it."""
    name = constraint_name(exc)
    if name is not None and name in _MEANINGS:
        return _MEANINGS[name].error()
    derived = _derived(name, exc)
    if derived is not None:
        return derived
    # A constraint nobody registered: still a specific, stable reason, and an error log so it gets registered.
    log.error("unregistered constraint refused a write: %s (%s)", name, exc.orig)
    return Conflict("与已有记录冲突 / conflicts with an existing record", reason=f"conflict.{name or 'unknown'}")


def _derived(name: str | None, exc: IntegrityError) -> DomainError | None:
    """Foreign keys and NOT NULL need no registration: the column says which field was wrong."""
    diag = getattr(exc.orig, "diag", None)
    column = getattr(diag, "column_name", None)
    text = str(exc.orig)
    if column and ("not-null" in text or "null value" in text):
        return ValidationFailed.field(str(column), "必填 / required", reason="field.required")
    match = re.search(r"NOT NULL constraint failed: \w+\.(\w+)", text)
    if match:
        return ValidationFailed.field(match.group(1), "必填 / required", reason="field.required")
    foreign = _foreign_key(name) if name else None
    if foreign is not None:
        field, target = foreign
        return ValidationFailed.field(field, f"引用的{target}不存在 / the referenced {target} does not exist",
                                      reason=f"{target}.not_found")
    if "FOREIGN KEY constraint failed" in text:  # SQLite does not say which key
        return ValidationFailed("引用的记录不存在 / a referenced record does not exist", reason="reference.not_found")
    return None


def _foreign_key(name: str) -> tuple[str, str] | None:
    """(column, referred table) of a foreign key constraint known to the metadata."""
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, ForeignKeyConstraint) and constraint.name == name:
                return constraint.column_keys[0], constraint.referred_table.name
    return None


def _sqlite_constraint(text: str) -> str | None:
    """SQLite names a CHECK but only the columns of a UNIQUE: find the constraint or unique index they make."""
    check = re.search(r"CHECK constraint failed: (\w+)", text)
    if check:
        return _named_check(check.group(1))
    unique = re.search(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)", text)
    if unique is None:
        return None
    pairs = [part.split(".", 1) for part in unique.group(1).split(", ")]
    table = Base.metadata.tables.get(pairs[0][0])
    return _unique_over(table, [column for _t, column in pairs]) if table is not None else None


def _named_check(short: str) -> str:
    """SQLite may report a CHECK by its short name; the registry knows it by the convention's full name."""
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and constraint.name is not None and (
                    constraint.name == short or str(constraint.name).endswith(f"_{short}")):
                return str(constraint.name)
    return short


def _unique_over(table: Table, columns: list[str]) -> str | None:
    """The unique constraint or unique index of a table over exactly these columns."""
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and [c.name for c in constraint.columns] == columns:
            return str(constraint.name)
    for index in table.indexes:
        if index.unique and [c.name for c in index.columns] == columns:
            return str(index.name)
    if [c.name for c in table.primary_key.columns] == columns:
        return str(table.primary_key.name)
    return None


def unique_and_check_constraints() -> list[tuple[str, str]]:
    """(table, name) of every unique constraint, unique index and CHECK in the metadata."""
    found: list[tuple[str, str]] = []
    for table in Base.metadata.sorted_tables:
        found += [(table.name, str(c.name)) for c in table.constraints
                  if isinstance(c, UniqueConstraint | CheckConstraint)]
        found += [(table.name, str(i.name)) for i in table.indexes if i.unique]
    return found
