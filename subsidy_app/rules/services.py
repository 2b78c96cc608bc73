"""Rule use cases: publish versions from files, read and diff them, evaluate quotes with the version in force."""

from __future__ import annotations

import datetime as dt
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from subsidy_app.audit import services as audit
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.rules.domain import Change, Decision, Facts
from subsidy_app.rules.evaluator import evaluate, select_version
from subsidy_app.rules.models import RuleVersionRecord
from subsidy_app.rules.ruleset import (
    RuleVersion,
    check_no_overlap,
    current_versions,
    diff_versions,
    load_rule_file,
    parse_rule_mapping,
)

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class LoadReport:
    """What `flask rules load` did with each file."""

    published: tuple[str, ...]
    unchanged: tuple[str, ...]


def publish_rule_files(uow: UnitOfWork, *, actor: str, paths: list[Path]) -> LoadReport:
    """Validate rule files and publish the new versions; a changed published version is refused."""
    loaded = [(path, load_rule_file(path)) for path in paths]
    stored = {r.code: r for r in uow.session.scalars(select(RuleVersionRecord))}
    for _path, version in loaded:
        record = stored.get(version.code)
        if record is not None and record.content_hash != version.content_hash:
            raise Conflict(
                f"规则版本 {version.code} 已发布,不能修改;请以新版本号发布更正 / version {version.code} is "
                "published and immutable: publish a correction as a new version", reason="rules.immutable")
    existing = [parse_rule_mapping(r.content, name=r.code) for r in stored.values()]
    new = [v for _p, v in loaded if v.code not in stored]
    check_no_overlap(existing + new)
    for path, version in loaded:
        if version.code in stored:
            continue
        uow.session.add(RuleVersionRecord(
            code=version.code, series=version.series, version=version.version, programme=str(version.programme),
            effective_from=version.effective_from, effective_to=version.effective_to, apply_by=version.apply_by,
            content=version.to_dict(), content_hash=version.content_hash, source_file=path.name))
        audit.record(uow, actor=actor, action="rules.published", entity_type="rule_version", entity_id=version.code,
                     after={"hash": version.content_hash, "file": path.name})
    if new:  # versions are immutable, so only an addition makes the cache stale; seen once it is committed
        uow.after_commit("rules.versions_published", version_cache().invalidate)
    return LoadReport(tuple(v.code for v in new), tuple(v.code for _p, v in loaded if v.code in stored))


def published_versions(uow: UnitOfWork) -> tuple[RuleVersion, ...]:
    """Return every published version (immutable, so safe to cache)."""
    rows = uow.session.scalars(select(RuleVersionRecord).order_by(RuleVersionRecord.id))
    return tuple(parse_rule_mapping(r.content, name=r.code) for r in rows)


@dataclass
class _Loaded:
    versions: tuple[RuleVersion, ...]
    by_code: dict[str, RuleVersion]
    at: float


class VersionCache:
    """Published versions held in memory; refreshed every CACHE_SECONDS so new versions appear.

    Held per database (per session factory): a process serving two databases, as the test suite does one after
    another, must not hand one database's versions to the other."""

    def __init__(self) -> None:
        self._by_database: weakref.WeakKeyDictionary[object, _Loaded] = weakref.WeakKeyDictionary()

    def _loaded(self, uow: UnitOfWork) -> _Loaded:
        loaded = self._by_database.get(uow.session_factory)
        if loaded is None or time.monotonic() - loaded.at > CACHE_SECONDS:
            versions = published_versions(uow)
            loaded = _Loaded(versions, {v.code: v for v in versions}, time.monotonic())
            self._by_database[uow.session_factory] = loaded
        return loaded

    def versions(self, uow: UnitOfWork) -> tuple[RuleVersion, ...]:
        """Return the versions, reloading when stale."""
        return self._loaded(uow).versions

    def by_code(self, uow: UnitOfWork, code: str) -> RuleVersion:
        """Return one version by code."""
        version = self._loaded(uow).by_code.get(code)
        if version is None:
            self.invalidate()
            version = self._loaded(uow).by_code.get(code)
        if version is None:
            raise NotFound(f"规则版本 {code} 不存在 / rule version {code} not found", reason="rules.not_found")
        return version

    def invalidate(self, _uow: UnitOfWork | None = None) -> None:
        """Forget the cached versions (also an after-commit hook, hence the unused unit of work)."""
        self._by_database.clear()


_PROCESS_VERSIONS = VersionCache()


def version_cache() -> VersionCache:
    """Return the process's one cache of published versions: every caller reads it, a publish refreshes it."""
    return _PROCESS_VERSIONS


def version_for(cache: VersionCache, uow: UnitOfWork, *, programme: str, category: str,
                purchase_date: dt.date) -> RuleVersion:
    """Choose the version by the trade-in's purchase date; 422 when none covers it."""
    version = select_version(cache.versions(uow), programme, category, purchase_date)
    if version is None:
        raise ValidationFailed.field(
            "purchase_date", f"{purchase_date} 没有适用于 {programme}/{category} 的补贴规则 / no rule version of "
            f"{programme} covers {category} on {purchase_date}", reason="rules.no_version")
    return version


def quote(cache: VersionCache, uow: UnitOfWork, *, facts: Facts) -> Decision:
    """Evaluate possible trade-in facts with the version in force on the purchase date."""
    version = version_for(cache, uow, programme=facts.programme, category=facts.category or "",
                          purchase_date=facts.purchase_date)
    return evaluate(version, facts)


def reevaluate(cache: VersionCache, uow: UnitOfWork, *, version_code: str, facts: Facts) -> Decision:
    """Evaluate again under the version an application was decided under, never a newer one."""
    return evaluate(cache.by_code(uow, version_code), facts)


def diff(cache: VersionCache, uow: UnitOfWork, *, code_a: str, code_b: str) -> list[Change]:
    """Show what differs between two versions."""
    return diff_versions(cache.by_code(uow, code_a), cache.by_code(uow, code_b))


def versions_with_state(cache: VersionCache, uow: UnitOfWork) -> list[tuple[RuleVersion, bool]]:
    """Return every published version, newest first, each with whether it is current (not superseded)."""
    versions = cache.versions(uow)
    current = {v.code for v in current_versions(versions)}
    ordered = sorted(versions, key=lambda v: (v.effective_from, v.programme.value, v.version), reverse=True)
    return [(v, v.code in current) for v in ordered]


def version_with_state(cache: VersionCache, uow: UnitOfWork, *, code: str) -> tuple[RuleVersion, bool]:
    """Return one version (404 if unknown) and whether it is current."""
    version = cache.by_code(uow, code)
    return version, version.code in {v.code for v in current_versions(cache.versions(uow))}
