"""Rule versions: their structure, loading and validation from YAML, overlap checks and diffs."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.rules.domain import (
    ANY,
    CAR_PROGRAMMES,
    ApplicantIndividual,
    CategoryDef,
    Change,
    Condition,
    DocumentRequirement,
    EnergyGradeAllowed,
    ExclusionRule,
    FirstRegistrationLimits,
    FixedByNewVehicleType,
    Formula,
    FormulaKind,
    FuelDisplacementMax,
    LimitPeriod,
    LimitRule,
    NevCatalogue,
    NevRequiresNewNev,
    NewVehicleTypeAllowed,
    OldVehicleFuel,
    OwnerSinceCutoff,
    PercentOfPriceCapped,
    PriceBasis,
    Programme,
    Provenance,
    QuotaKey,
    RateByEnergyGradeCapped,
    Rounding,
    RoundingMode,
    SamePerson,
    UnitPriceCeiling,
    VehicleType,
    money_str,
    number_str,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
_WINDOW_FIELDS = ("effective_from", "effective_to", "apply_by")
_ROUNDING_CONSTANTS = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
    RoundingMode.DOWN: ROUND_DOWN,
}
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION_CODE_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")


class RuleFileInvalid(ValidationFailed):
    """A rule file is malformed; names the file and the field."""

    default_reason = "rules.file_invalid"

    def __init__(self, file: str, field_path: str, problem: str) -> None:
        where = f"{file}: {field_path}" if field_path else file  # empty path: the file as a whole
        super().__init__(f"{where}: {problem}", errors={field_path or "file": [problem]})
        self.file = file
        self.field_path = field_path
        self.problem = problem


@dataclass(frozen=True, eq=False)
class RuleVersion:
    """One immutable rule version of one programme; equal versions have equal content hashes."""

    code: str
    series: str
    version: int
    programme: Programme
    title_zh: str
    title_en: str
    effective_from: date
    effective_to: date | None
    apply_by: date | None
    unconfirmed_fields: tuple[str, ...]
    source: str
    categories: tuple[CategoryDef, ...]
    price_basis: PriceBasis
    conditions: tuple[Condition, ...]
    amount: Formula
    rounding: Rounding
    limits: LimitRule
    exclusions: tuple[ExclusionRule, ...]
    documents: tuple[DocumentRequirement, ...]
    # Derived at construction so evaluation does no parsing or searching.
    content_hash: str = field(init=False, repr=False)
    category_map: Mapping[str, CategoryDef] = field(init=False, repr=False)
    covered_zh: str = field(init=False, repr=False)
    covered_en: str = field(init=False, repr=False)
    documents_by_category: Mapping[str, tuple[DocumentRequirement, ...]] = field(init=False, repr=False)
    quota_max: Mapping[str, int] = field(init=False, repr=False)
    needs_price: bool = field(init=False, repr=False)
    active_conditions: tuple[Condition, ...] = field(init=False, repr=False)
    quantum: Decimal = field(init=False, repr=False)
    rounding_constant: str = field(init=False, repr=False)
    zero_amount: Decimal = field(init=False, repr=False)
    version_quota: Mapping[str, QuotaKey] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "category_map", MappingProxyType({c.code: c for c in self.categories}))
        put(self, "covered_zh", "、".join(c.zh for c in self.categories))
        put(self, "covered_en", ", ".join(c.code for c in self.categories))
        docs = {
            c.code: tuple(d for d in self.documents if d.categories is None or c.code in d.categories)
            for c in self.categories
        }
        put(self, "documents_by_category", MappingProxyType(docs))
        quota = {
            c.code: self.limits.overrides.get(c.code, self.limits.max_per_category) for c in self.categories
        }
        put(self, "quota_max", MappingProxyType(quota))
        put(self, "needs_price", not isinstance(self.amount, FixedByNewVehicleType))
        # An owner cutoff left unset (unconfirmed) is no condition at all.
        active = tuple(c for c in self.conditions if not isinstance(c, OwnerSinceCutoff) or c.active)
        put(self, "active_conditions", active)
        put(self, "quantum", Decimal(1).scaleb(-self.rounding.places))
        put(self, "rounding_constant", _ROUNDING_CONSTANTS[self.rounding.mode])
        put(self, "zero_amount", Decimal(0).quantize(self.quantum))
        version_quota = {}
        if (
            self.limits.period is LimitPeriod.VERSION
        ):  # the series, so a correction keeps counting the same quota
            version_quota = {
                code: QuotaKey(self.programme.value, code, LimitPeriod.VERSION, self.series, n)
                for code, n in quota.items()
            }
        put(self, "version_quota", MappingProxyType(version_quota))
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        put(self, "content_hash", hashlib.sha256(canonical.encode("utf-8")).hexdigest())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleVersion) and other.content_hash == self.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    @property
    def category_codes(self) -> frozenset[str]:
        """Return the codes of the categories this version covers."""
        return frozenset(self.category_map)

    def covers(self, purchase_date: date) -> bool:
        """Tell whether a purchase date falls in the effective window (both ends inclusive)."""
        return self.effective_from <= purchase_date and (
            self.effective_to is None or purchase_date <= self.effective_to
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the version in file form, JSON-able (dates ISO, amounts as strings)."""
        return {
            "code": self.code,
            "series": self.series,
            "version": self.version,
            "programme": str(self.programme),
            "title": {"zh": self.title_zh, "en": self.title_en},
            "effective_from": self.effective_from.isoformat(),
            "effective_to": _iso(self.effective_to),
            "apply_by": _iso(self.apply_by),
            "unconfirmed_fields": list(self.unconfirmed_fields),
            "source": self.source,
            "categories": [c.to_dict() for c in self.categories],
            "price_basis": str(self.price_basis),
            "conditions": [{"clause": c.clause, **c.params(), **c.meta.to_dict()} for c in self.conditions],
            "amount": _formula_dict(self.amount),
            "rounding": {"places": self.rounding.places, "mode": str(self.rounding.mode)},
            "limits": {
                "period": str(self.limits.period),
                "max_per_category": self.limits.max_per_category,
                "overrides": dict(self.limits.overrides),
                **self.limits.meta.to_dict(),
            },
            "exclusions": [{"group": e.group, "key": e.key, **e.meta.to_dict()} for e in self.exclusions],
            "documents": [_document_dict(d) for d in self.documents],
        }


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _by_type(values: Mapping[str, Decimal], fmt: Callable[[Decimal], str]) -> object:
    if set(values) == {ANY}:
        return fmt(values[ANY])
    return {k: fmt(v) for k, v in values.items()}


def _formula_dict(f: Formula) -> dict[str, object]:
    out: dict[str, object] = {"kind": str(f.kind)}
    if isinstance(f, FixedByNewVehicleType):
        out["amounts"] = {k: money_str(v) for k, v in f.amounts.items()}
    elif isinstance(f, PercentOfPriceCapped):
        out["rate_percent"] = _by_type(f.rate_percent, number_str)
        out["cap"] = _by_type(f.cap, money_str)
    else:
        out["rate_percent_by_grade"] = {str(g): number_str(r) for g, r in f.rate_percent_by_grade.items()}
        out["cap"] = money_str(f.cap)
    return {**out, **f.meta.to_dict()}


def _document_dict(d: DocumentRequirement) -> dict[str, object]:
    out: dict[str, object] = {"code": d.code, "zh": d.zh, "en": d.en}
    if d.categories is not None:
        out["categories"] = list(d.categories)
    return {**out, **d.meta.to_dict()}


# ---- parsing and validation ----

_T = TypeVar("_T")
_META_KEYS = frozenset({"source", "unconfirmed", "local", "note"})


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


class _Reader:
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
            raise self.fail(_join(path, key), "is required")
        return m[key]

    def text(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "must be a non-empty string")
        return value

    def code(self, value: object, path: str, pattern: re.Pattern[str] = _CODE_RE) -> str:
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
            raise self.fail(_join(path, "source"), "is required: cite where the numbers come from")
        return Provenance(
            source=None if source is None else self.text(source, _join(path, "source")),
            unconfirmed=self.flag(m.get("unconfirmed", False), _join(path, "unconfirmed")),
            local=self.flag(m.get("local", False), _join(path, "local")),
            note=None if m.get("note") is None else self.text(m["note"], _join(path, "note")),
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_TOP_KEYS = frozenset(
    {
        "code",
        "series",
        "version",
        "programme",
        "title",
        "effective_from",
        "effective_to",
        "apply_by",
        "unconfirmed_fields",
        "source",
        "categories",
        "price_basis",
        "conditions",
        "amount",
        "rounding",
        "limits",
        "exclusions",
        "documents",
    }
)
_CLAUSE_KEYS: dict[str, frozenset[str]] = {
    ApplicantIndividual.clause: frozenset(),
    SamePerson.clause: frozenset(),
    FirstRegistrationLimits.clause: frozenset({"on_or_before"}),
    OwnerSinceCutoff.clause: frozenset({"before", "on_or_before"}),
    NevRequiresNewNev.clause: frozenset(),
    NewVehicleTypeAllowed.clause: frozenset({"allowed"}),
    FuelDisplacementMax.clause: frozenset({"fuel_max_l"}),
    NevCatalogue.clause: frozenset(),
    EnergyGradeAllowed.clause: frozenset({"grades"}),
    UnitPriceCeiling.clause: frozenset({"max"}),
}
_CAR_ONLY = frozenset(
    {
        SamePerson.clause,
        FirstRegistrationLimits.clause,
        OwnerSinceCutoff.clause,
        NevRequiresNewNev.clause,
        NewVehicleTypeAllowed.clause,
        FuelDisplacementMax.clause,
        NevCatalogue.clause,
    }
)


def parse_rule_mapping(data: object, *, name: str = "<rules>") -> RuleVersion:
    """Build a validated RuleVersion from a parsed mapping (file form); raise RuleFileInvalid."""
    r = _Reader(name)
    m = r.mapping(data, "", _TOP_KEYS)
    code = r.code(r.req(m, "code", ""), "code", _VERSION_CODE_RE)
    programme = r.choice(r.req(m, "programme", ""), "programme", Programme, [p.value for p in Programme])
    title = r.mapping(r.req(m, "title", ""), "title", ["zh", "en"])
    eff_from = r.day(r.req(m, "effective_from", ""), "effective_from")
    eff_to = r.opt_day(m.get("effective_to"), "effective_to")
    apply_by = r.opt_day(m.get("apply_by"), "apply_by")
    if eff_to is not None and eff_to < eff_from:
        raise r.fail("effective_to", f"{eff_to} is before effective_from {eff_from}")
    if apply_by is not None and apply_by < eff_from:
        raise r.fail("apply_by", f"{apply_by} is before effective_from {eff_from}")
    unconfirmed = [
        r.choice(v, f"unconfirmed_fields[{i}]", str, _WINDOW_FIELDS)
        for i, v in enumerate(r.items(m.get("unconfirmed_fields", []), "unconfirmed_fields"))
    ]
    rounding = _rounding(r, m.get("rounding"))
    categories = _categories(r, r.req(m, "categories", ""), programme)
    codes = {c.code for c in categories}
    conditions = _conditions(r, r.req(m, "conditions", ""), programme)
    version = RuleVersion(
        code=code,
        series=r.code(m.get("series", code), "series", _VERSION_CODE_RE),
        version=r.integer(r.req(m, "version", ""), "version", 1),
        programme=programme,
        title_zh=r.text(r.req(title, "zh", "title"), "title.zh"),
        title_en=r.text(r.req(title, "en", "title"), "title.en"),
        effective_from=eff_from,
        effective_to=eff_to,
        apply_by=apply_by,
        unconfirmed_fields=tuple(unconfirmed),
        source=r.text(r.req(m, "source", ""), "source"),
        categories=categories,
        price_basis=r.choice(
            m.get("price_basis", PriceBasis.INVOICE_TOTAL_INCL_TAX.value),
            "price_basis",
            PriceBasis,
            [p.value for p in PriceBasis],
        ),
        conditions=conditions,
        amount=_formula(r, r.req(m, "amount", ""), conditions, rounding.places),
        rounding=rounding,
        limits=_limits(r, r.req(m, "limits", ""), codes),
        exclusions=_exclusions(r, m.get("exclusions", [])),
        documents=_documents(r, r.req(m, "documents", ""), codes),
    )
    return version


def _rounding(r: _Reader, value: object) -> Rounding:
    if value is None:
        return Rounding()
    m = r.mapping(value, "rounding", ["places", "mode"])
    places = r.integer(m.get("places", 2), "rounding.places", 0)
    if places > 4:
        raise r.fail("rounding.places", "must be at most 4")
    mode = r.choice(m.get("mode", "half_up"), "rounding.mode", RoundingMode, [x.value for x in RoundingMode])
    return Rounding(places=places, mode=mode)


def _categories(r: _Reader, value: object, programme: Programme) -> tuple[CategoryDef, ...]:
    out: list[CategoryDef] = []
    raw = r.items(value, "categories")
    if not raw:
        raise r.fail("categories", "must list at least one category")
    for i, item in enumerate(raw):
        path = f"categories[{i}]"
        m = r.mapping(item, path, {"code", "zh", "en"} | _META_KEYS)
        code = r.code(r.req(m, "code", path), f"{path}.code")
        if any(c.code == code for c in out):
            raise r.fail(f"{path}.code", f"duplicate category {code!r}")
        if programme in CAR_PROGRAMMES and code != "passenger_car":
            raise r.fail(f"{path}.code", "car programmes cover only passenger_car")
        out.append(
            CategoryDef(
                code,
                r.text(r.req(m, "zh", path), f"{path}.zh"),
                r.text(r.req(m, "en", path), f"{path}.en"),
                r.meta(m, path, source_required=False),
            )
        )
    return tuple(out)


def _conditions(r: _Reader, value: object, programme: Programme) -> tuple[Condition, ...]:
    out: list[Condition] = []
    for i, item in enumerate(r.items(value, "conditions")):
        path = f"conditions[{i}]"
        m0 = r.mapping(item, path)
        clause = r.choice(r.req(m0, "clause", path), f"{path}.clause", str, list(_CLAUSE_KEYS))
        path = f"conditions[{clause}]"
        m = r.mapping(m0, path, {"clause"} | _CLAUSE_KEYS[clause] | _META_KEYS)
        if clause in _CAR_ONLY and programme not in CAR_PROGRAMMES:
            raise r.fail(f"{path}.clause", f"applies to car programmes only, not {programme}")
        if any(c.clause == clause for c in out):
            raise r.fail(f"{path}.clause", "appears twice")
        meta = r.meta(m, path, source_required=True)
        out.append(_condition(r, clause, m, path, meta))
    return tuple(out)


def _condition(r: _Reader, clause: str, m: Mapping[Any, Any], path: str, meta: Provenance) -> Condition:
    if clause == FirstRegistrationLimits.clause:
        limits = r.mapping(
            r.req(m, "on_or_before", path), f"{path}.on_or_before", [f.value for f in OldVehicleFuel]
        )
        if not limits:
            raise r.fail(f"{path}.on_or_before", "must set a date for at least one fuel")
        return FirstRegistrationLimits(
            MappingProxyType({k: r.day(v, f"{path}.on_or_before.{k}") for k, v in limits.items()}), meta
        )
    if clause == OwnerSinceCutoff.clause:
        before = r.opt_day(m.get("before"), f"{path}.before")
        on_or_before = r.opt_day(m.get("on_or_before"), f"{path}.on_or_before")
        if before is not None and on_or_before is not None:
            raise r.fail(f"{path}.before", "set either before or on_or_before, not both")
        if before is None and on_or_before is None and not meta.unconfirmed:
            raise r.fail(f"{path}.before", "a cutoff left unset must be flagged unconfirmed: true")
        return OwnerSinceCutoff(before, on_or_before, meta)
    if clause == NewVehicleTypeAllowed.clause:
        types = r.items(r.req(m, "allowed", path), f"{path}.allowed")
        allowed = tuple(
            r.choice(t, f"{path}.allowed[{j}]", str, [v.value for v in VehicleType])
            for j, t in enumerate(types)
        )
        if not allowed or len(set(allowed)) != len(allowed):
            raise r.fail(f"{path}.allowed", "must list distinct vehicle types")
        return NewVehicleTypeAllowed(allowed, meta)
    if clause == FuelDisplacementMax.clause:
        return FuelDisplacementMax(r.decimal(r.req(m, "fuel_max_l", path), f"{path}.fuel_max_l"), meta)
    if clause == EnergyGradeAllowed.clause:
        grades = tuple(
            r.integer(g, f"{path}.grades[{j}]", 1)
            for j, g in enumerate(r.items(r.req(m, "grades", path), f"{path}.grades"))
        )
        if not grades or any(g > 5 for g in grades) or len(set(grades)) != len(grades):
            raise r.fail(f"{path}.grades", "must list distinct grades 1–5")
        return EnergyGradeAllowed(grades, meta)
    if clause == UnitPriceCeiling.clause:
        return UnitPriceCeiling(r.money(r.req(m, "max", path), f"{path}.max", 2), meta)
    simple: dict[str, Callable[[Provenance], Condition]] = {
        ApplicantIndividual.clause: ApplicantIndividual,
        SamePerson.clause: SamePerson,
        NevRequiresNewNev.clause: NevRequiresNewNev,
        NevCatalogue.clause: NevCatalogue,
    }
    return simple[clause](meta)


def _find(conditions: tuple[Condition, ...], kind: type[_T]) -> _T | None:
    return next((c for c in conditions if isinstance(c, kind)), None)


def _by_vehicle_type(
    r: _Reader,
    value: object,
    path: str,
    conditions: tuple[Condition, ...],
    parse: Callable[[object, str], Decimal],
) -> Mapping[str, Decimal]:
    if not isinstance(value, dict):
        return MappingProxyType({ANY: parse(value, path)})
    m = r.mapping(value, path, [v.value for v in VehicleType])
    types = _find(conditions, NewVehicleTypeAllowed)
    if types is None:
        raise r.fail(path, "amounts by vehicle type need a new_vehicle.type condition")
    missing = [t for t in types.allowed if t not in m]
    if missing:
        raise r.fail(f"{path}.{missing[0]}", "is required: the type is allowed by new_vehicle.type")
    return MappingProxyType({k: parse(v, f"{path}.{k}") for k, v in m.items()})


def _formula(r: _Reader, value: object, conditions: tuple[Condition, ...], places: int) -> Formula:
    kinds = [k.value for k in FormulaKind]
    m0 = r.mapping(value, "amount")
    kind = r.choice(r.req(m0, "kind", "amount"), "amount.kind", FormulaKind, kinds)
    keys = {
        FormulaKind.FIXED_BY_NEW_VEHICLE_TYPE: {"amounts"},
        FormulaKind.PERCENT_OF_PRICE_CAPPED: {"rate_percent", "cap"},
        FormulaKind.RATE_BY_ENERGY_GRADE_CAPPED: {"rate_percent_by_grade", "cap"},
    }[kind]
    m = r.mapping(m0, "amount", {"kind"} | keys | _META_KEYS)
    meta = r.meta(m, "amount", source_required=True)

    def money(v: object, p: str) -> Decimal:
        return r.money(v, p, places)

    if kind is FormulaKind.FIXED_BY_NEW_VEHICLE_TYPE:
        amounts = r.req(m, "amounts", "amount")
        if not isinstance(amounts, dict):
            raise r.fail("amount.amounts", "must map each new-vehicle type to an amount")
        return FixedByNewVehicleType(_by_vehicle_type(r, amounts, "amount.amounts", conditions, money), meta)
    if kind is FormulaKind.PERCENT_OF_PRICE_CAPPED:
        return PercentOfPriceCapped(
            _by_vehicle_type(
                r, r.req(m, "rate_percent", "amount"), "amount.rate_percent", conditions, r.percent
            ),
            _by_vehicle_type(r, r.req(m, "cap", "amount"), "amount.cap", conditions, money),
            meta,
        )
    rates = r.mapping(r.req(m, "rate_percent_by_grade", "amount"), "amount.rate_percent_by_grade")
    by_grade = {
        r.integer(
            int(g) if isinstance(g, str) and g.isdigit() else g, f"amount.rate_percent_by_grade.{g}", 1
        ): r.percent(v, f"amount.rate_percent_by_grade.{g}")
        for g, v in rates.items()
    }
    grades = _find(conditions, EnergyGradeAllowed)
    if grades is None:
        raise r.fail("amount.rate_percent_by_grade", "needs an energy_grade.allowed condition")
    missing = [g for g in grades.grades if g not in by_grade]
    if missing:
        raise r.fail(f"amount.rate_percent_by_grade.{missing[0]}", "is required: the grade is allowed")
    return RateByEnergyGradeCapped(
        MappingProxyType(by_grade), money(r.req(m, "cap", "amount"), "amount.cap"), meta
    )


def _limits(r: _Reader, value: object, codes: set[str]) -> LimitRule:
    m = r.mapping(value, "limits", {"period", "max_per_category", "overrides"} | _META_KEYS)
    overrides = r.mapping(m.get("overrides", {}), "limits.overrides")
    for k in overrides:
        if k not in codes:
            raise r.fail(f"limits.overrides.{k}", "is not a category of this version")
    return LimitRule(
        period=r.choice(
            r.req(m, "period", "limits"), "limits.period", LimitPeriod, [p.value for p in LimitPeriod]
        ),
        max_per_category=r.integer(r.req(m, "max_per_category", "limits"), "limits.max_per_category", 1),
        overrides=MappingProxyType(
            {k: r.integer(v, f"limits.overrides.{k}", 1) for k, v in overrides.items()}
        ),
        meta=r.meta(m, "limits", source_required=True),
    )


def _exclusions(r: _Reader, value: object) -> tuple[ExclusionRule, ...]:
    out: list[ExclusionRule] = []
    for i, item in enumerate(r.items(value, "exclusions")):
        path = f"exclusions[{i}]"
        m = r.mapping(item, path, {"group", "key"} | _META_KEYS)
        group = r.code(r.req(m, "group", path), f"{path}.group")
        if any(e.group == group for e in out):
            raise r.fail(f"{path}.group", f"duplicate group {group!r}")
        out.append(
            ExclusionRule(
                group, r.code(r.req(m, "key", path), f"{path}.key"), r.meta(m, path, source_required=False)
            )
        )
    return tuple(out)


def _documents(r: _Reader, value: object, codes: set[str]) -> tuple[DocumentRequirement, ...]:
    out: list[DocumentRequirement] = []
    for i, item in enumerate(r.items(value, "documents")):
        path = f"documents[{i}]"
        m = r.mapping(item, path, {"code", "zh", "en", "categories"} | _META_KEYS)
        code = r.code(r.req(m, "code", path), f"{path}.code")
        if any(d.code == code for d in out):
            raise r.fail(f"{path}.code", f"duplicate document {code!r}")
        cats: tuple[str, ...] | None = None
        if m.get("categories") is not None:
            cats = tuple(
                r.choice(c, f"{path}.categories[{j}]", str, sorted(codes))
                for j, c in enumerate(r.items(m["categories"], f"{path}.categories"))
            )
        out.append(
            DocumentRequirement(
                code,
                r.text(r.req(m, "zh", path), f"{path}.zh"),
                r.text(r.req(m, "en", path), f"{path}.en"),
                cats,
                r.meta(m, path, source_required=False),
            )
        )
    return tuple(out)


def load_rule_file(source: str | os.PathLike[str], *, name: str | None = None) -> RuleVersion:
    """Load one version from a path, or from YAML text (a str with a newline); raise RuleFileInvalid."""
    if isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml")):
        source = Path(source)
    if isinstance(source, str):
        text, label = source, name or "<text>"
    else:
        path = Path(source)
        label = name or path.name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleFileInvalid(label, "", f"cannot be read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise RuleFileInvalid(label, where, f"is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_rule_mapping(data, name=label)


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
