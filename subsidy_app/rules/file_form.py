"""Provenance of rule-file values and the number formats of the file form."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a number comes from and how firm it is."""

    source: str | None = None
    unconfirmed: bool = False
    local: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the non-default fields, in file form."""
        out: dict[str, object] = {}
        if self.source is not None:
            out["source"] = self.source
        if self.unconfirmed:
            out["unconfirmed"] = True
        if self.local:
            out["local"] = True
        if self.note is not None:
            out["note"] = self.note
        return out


# The default of every `meta` field: frozen, so one shared value is safe (and ruff sees no call in a default).
NO_PROVENANCE = Provenance()
