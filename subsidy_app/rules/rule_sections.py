"""Parsers of a rule file's sections: rounding, categories, conditions, amount, limits, exclusions, documents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

from subsidy_app.rules.domain import (
    ANY,
    CAR_PROGRAMMES,
    ApplicantIndividual,
    CategoryDef,
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
    Programme,
    Provenance,
    RateByEnergyGradeCapped,
    Rounding,
    RoundingMode,
    SamePerson,
    UnitPriceCeiling,
    VehicleType,
)
from subsidy_app.rules.rule_reader import META_KEYS, FieldReader

_T = TypeVar("_T")
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


def parse_rounding(r: FieldReader, value: object) -> Rounding:
    """Parse the optional rounding section; absent means to the fen, half-up."""
    if value is None:
        return Rounding()
    m = r.mapping(value, "rounding", ["places", "mode"])
    places = r.integer(m.get("places", 2), "rounding.places", 0)
    if places > 4:
        raise r.fail("rounding.places", "must be at most 4")
    mode = r.choice(m.get("mode", "half_up"), "rounding.mode", RoundingMode, [x.value for x in RoundingMode])
    return Rounding(places=places, mode=mode)


def parse_categories(r: FieldReader, value: object, programme: Programme) -> tuple[CategoryDef, ...]:
    """Parse the covered categories; car programmes cover only passenger_car."""
    out: list[CategoryDef] = []
    raw = r.items(value, "categories")
    if not raw:
        raise r.fail("categories", "must list at least one category")
    for i, item in enumerate(raw):
        path = f"categories[{i}]"
        m = r.mapping(item, path, {"code", "zh", "en"} | META_KEYS)
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


def parse_conditions(r: FieldReader, value: object, programme: Programme) -> tuple[Condition, ...]:
    """Parse the explicit eligibility clauses, in file order, each at most once."""
    out: list[Condition] = []
    for i, item in enumerate(r.items(value, "conditions")):
        path = f"conditions[{i}]"
        m0 = r.mapping(item, path)
        clause = r.choice(r.req(m0, "clause", path), f"{path}.clause", str, list(_CLAUSE_KEYS))
        path = f"conditions[{clause}]"
        m = r.mapping(m0, path, {"clause"} | _CLAUSE_KEYS[clause] | META_KEYS)
        if clause in _CAR_ONLY and programme not in CAR_PROGRAMMES:
            raise r.fail(f"{path}.clause", f"applies to car programmes only, not {programme}")
        if any(c.clause == clause for c in out):
            raise r.fail(f"{path}.clause", "appears twice")
        meta = r.meta(m, path, source_required=True)
        out.append(_condition(r, clause, m, path, meta))
    return tuple(out)


def _condition(r: FieldReader, clause: str, m: Mapping[Any, Any], path: str, meta: Provenance) -> Condition:
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
    r: FieldReader,
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


def parse_formula(r: FieldReader, value: object, conditions: tuple[Condition, ...], places: int) -> Formula:
    """Parse the amount formula, checking it agrees with the vehicle-type and grade conditions."""
    kinds = [k.value for k in FormulaKind]
    m0 = r.mapping(value, "amount")
    kind = r.choice(r.req(m0, "kind", "amount"), "amount.kind", FormulaKind, kinds)
    keys = {
        FormulaKind.FIXED_BY_NEW_VEHICLE_TYPE: {"amounts"},
        FormulaKind.PERCENT_OF_PRICE_CAPPED: {"rate_percent", "cap"},
        FormulaKind.RATE_BY_ENERGY_GRADE_CAPPED: {"rate_percent_by_grade", "cap"},
    }[kind]
    m = r.mapping(m0, "amount", {"kind"} | keys | META_KEYS)
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


def parse_limits(r: FieldReader, value: object, codes: set[str]) -> LimitRule:
    """Parse the per-person limits; overrides must name categories of this version."""
    m = r.mapping(value, "limits", {"period", "max_per_category", "overrides"} | META_KEYS)
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


def parse_exclusions(r: FieldReader, value: object) -> tuple[ExclusionRule, ...]:
    """Parse the exclusion groups (an identifier funded once per group)."""
    out: list[ExclusionRule] = []
    for i, item in enumerate(r.items(value, "exclusions")):
        path = f"exclusions[{i}]"
        m = r.mapping(item, path, {"group", "key"} | META_KEYS)
        group = r.code(r.req(m, "group", path), f"{path}.group")
        if any(e.group == group for e in out):
            raise r.fail(f"{path}.group", f"duplicate group {group!r}")
        out.append(
            ExclusionRule(
                group, r.code(r.req(m, "key", path), f"{path}.key"), r.meta(m, path, source_required=False)
            )
        )
    return tuple(out)


def parse_documents(r: FieldReader, value: object, codes: set[str]) -> tuple[DocumentRequirement, ...]:
    """Parse the required documents, optionally restricted to some categories."""
    out: list[DocumentRequirement] = []
    for i, item in enumerate(r.items(value, "documents")):
        path = f"documents[{i}]"
        m = r.mapping(item, path, {"code", "zh", "en", "categories"} | META_KEYS)
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
