"""Sets of rule versions: the shipped data directory, loading it, overlap checks and diffs between versions."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.rules.domain import Change
from subsidy_app.rules.rule_files import load_rule_file, parse_rule_mapping
from subsidy_app.rules.rule_reader import RuleFileInvalid
from subsidy_app.rules.rule_version import RuleVersion

# RuleVersion, the file parsing and its error live in their own modules; they are re-exported here because
# callers know rule versions by this module.
__all__ = [
    "DATA_DIR",
    "RuleFileInvalid",
    "RuleVersion",
    "check_no_overlap",
    "current_versions",
    "diff_versions",
    "load_rule_file",
    "load_rules_dir",
    "parse_rule_mapping",
]


DATA_DIR = Path(__file__).resolve().parent / "data"


def load_rules_dir(directory: str | os.PathLike[str] | None = None) -> tuple[RuleVersion, ...]:
    """Load every *.yaml version in a directory (default: the shipped data), refusing overlaps."""
    folder = Path(directory) if directory is not None else DATA_DIR
    versions = tuple(load_rule_file(p) for p in sorted(folder.glob("*.yaml")))
    check_no_overlap(versions)
    return versions


# ---- sets of versions ----


def current_versions(versions: Iterable[RuleVersion]) -> tuple[RuleVersion, ...]:
    """Return the versions not superseded by a higher version number of the same series."""
    vs = tuple(versions)
    latest: dict[str, int] = {}
    for v in vs:
        latest[v.series] = max(latest.get(v.series, 0), v.version)
    return tuple(v for v in vs if v.version == latest[v.series])


def check_no_overlap(versions: Iterable[RuleVersion]) -> None:
    """Refuse duplicate codes, and current versions of one programme whose windows and categories overlap."""
    vs = tuple(versions)
    seen: dict[str, RuleVersion] = {}
    for v in vs:
        if v.code in seen:
            raise ValidationFailed(
                f"rule version code {v.code} appears twice",
                reason="rules.duplicate_code",
                errors={"code": [v.code]},
            )
        if any(o.series == v.series and o.version == v.version for o in seen.values()):
            raise ValidationFailed(
                f"series {v.series} has version {v.version} twice",
                reason="rules.duplicate_version",
                errors={"version": [v.code]},
            )
        seen[v.code] = v
    current = current_versions(vs)
    for i, a in enumerate(current):
        for b in current[i + 1 :]:
            shared = sorted(a.category_codes & b.category_codes)
            if a.programme != b.programme or not shared:
                continue
            start = max(a.effective_from, b.effective_from)
            ends = [e for e in (a.effective_to, b.effective_to) if e is not None]
            if not ends or start <= min(ends):
                raise ValidationFailed(
                    f"rule versions {a.code} and {b.code} of {a.programme} overlap from {start} "
                    f"for {', '.join(shared)}",
                    reason="rules.window_overlap",
                    errors={"effective_from": [a.code, b.code]},
                )


def _flatten(value: object, path: str, out: dict[str, object]) -> None:
    if isinstance(value, dict):
        if not value and path:
            out[path] = {}
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
        return
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        ident = next((k for k in ("clause", "code", "group") if all(k in x for x in value)), None)
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{item[ident] if ident else i}]", out)
        return
    out[path] = value


def diff_versions(a: RuleVersion, b: RuleVersion) -> list[Change]:
    """List what changes from version a to version b, by path in file form, sorted by path."""
    fa: dict[str, object] = {}
    fb: dict[str, object] = {}
    _flatten(a.to_dict(), "", fa)
    _flatten(b.to_dict(), "", fb)
    return [Change(p, fa.get(p), fb.get(p)) for p in sorted(fa.keys() | fb.keys()) if fa.get(p) != fb.get(p)]
