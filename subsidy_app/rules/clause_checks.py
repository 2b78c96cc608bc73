"""Checks of single clauses against trade-in facts: the implicit window/category/price ones and each condition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from subsidy_app.rules.domain import (
    ApplicantIndividual,
    ConditionResult,
    EnergyGradeAllowed,
    Facts,
    FirstRegistrationLimits,
    FuelDisplacementMax,
    NevCatalogue,
    NevRequiresNewNev,
    NewVehicleTypeAllowed,
    OwnerSinceCutoff,
    PriceBasis,
    SamePerson,
    UnitPriceCeiling,
)
from subsidy_app.rules.rule_version import RuleVersion

_R = ConditionResult
_FUEL_ZH = {"petrol": "汽油车", "diesel": "柴油车", "other": "其他燃料车", "nev": "新能源汽车"}
TYPE_ZH = {"nev": "新能源汽车", "fuel": "燃油车"}
TYPE_EN = {"nev": "NEV", "fuel": "fuel car"}
_BASIS = {
    PriceBasis.INVOICE_TOTAL_INCL_TAX: ("发票价税合计", "invoice total incl. tax"),
    PriceBasis.INVOICE_AMOUNT_EXCL_TAX: ("发票不含税金额", "invoice amount excl. tax"),
}

# Results that do not depend on any value are built once: evaluation must stay cheap (≥ 20,000/s).
_INDIVIDUAL_OK = _R(ApplicantIndividual.clause, True, "申请人为个人", "the applicant is an individual")
_INDIVIDUAL_NO = _R(
    ApplicantIndividual.clause,
    False,
    "申请人不是个人，本政策仅限个人",
    "the applicant is not an individual; individuals only",
)
_SAME_OK = _R(
    SamePerson.clause, True, "旧车与新车属于同一申请人", "the old and new vehicle belong to the applicant"
)
_SAME_NO = _R(
    SamePerson.clause, False, "旧车与新车不属于同一人", "the old and new vehicle belong to different people"
)
_OLD_NOT_NEV = _R(
    NevRequiresNewNev.clause,
    True,
    "旧车不是新能源汽车，不受此项限制",
    "the old vehicle is not an NEV: no restriction",
)
_NEV_FOR_NEV = _R(
    NevRequiresNewNev.clause, True, "报废新能源汽车，购买新能源汽车", "scrapped an NEV, bought an NEV"
)
_NEV_NO_LIMIT = _R(FuelDisplacementMax.clause, True, "新能源汽车不受排量限制", "NEV: no displacement limit")
_TYPE_UNKNOWN = _R(
    FuelDisplacementMax.clause,
    False,
    "新车类型未知，无法判断排量",
    "new vehicle type unknown: displacement cannot be checked",
)
_CATALOGUE_NA = _R(
    NevCatalogue.clause, True, "燃油车无需列入新能源汽车目录", "not an NEV: the NEV catalogue does not apply"
)
_CATALOGUE_OK = _R(
    NevCatalogue.clause,
    True,
    "新能源汽车列入免征车辆购置税目录",
    "the NEV is in the MIIT purchase-tax exemption catalogue",
)
_CATALOGUE_NO = _R(
    NevCatalogue.clause,
    False,
    "新能源汽车未列入免征车辆购置税目录",
    "the NEV is not in the MIIT purchase-tax exemption catalogue",
)
_NO_DEADLINE = _R(
    "window.apply_by",
    True,
    "本版本未设定申请截止日期（待确认）",
    "no application deadline is set (unconfirmed)",
)


@lru_cache(maxsize=4096)
def _missing(clause: str, zh: str, en: str) -> ConditionResult:
    return _R(clause, False, f"缺少{zh}", f"{en} is missing")


@lru_cache(maxsize=4096)
def _category_ok(code: str, zh: str, en: str) -> ConditionResult:
    return _R("category.allowed", True, f"品类 {zh} 在本版本补贴范围内", f"category {code} ({en}) is covered")


def basis_price(version: RuleVersion, facts: Facts) -> Decimal | None:
    """Return the invoice figure the version's percentages and ceilings apply to."""
    if version.price_basis is PriceBasis.INVOICE_AMOUNT_EXCL_TAX:
        return facts.price_excl_tax
    return facts.price


def check_window(v: RuleVersion, f: Facts) -> ConditionResult:
    """Check the purchase date against the version's effective window."""
    c, d, start, end = "window.purchase_date", f.purchase_date, v.effective_from, v.effective_to
    ds, ss = d.isoformat(), start.isoformat()
    if d < start:
        return _R(
            c, False, f"购买日期 {ds} 早于政策开始日期 {ss}", f"purchase date {ds} is before the start {ss}"
        )
    if end is None:
        return _R(
            c,
            True,
            f"购买日期 {ds} 不早于政策开始日期 {ss}（长期有效）",
            f"purchase date {ds} is on or after {ss}",
        )
    es = end.isoformat()
    if d > end:
        return _R(
            c, False, f"购买日期 {ds} 晚于政策结束日期 {es}", f"purchase date {ds} is after the end {es}"
        )
    return _R(c, True, f"购买日期 {ds} 在 {ss} 至 {es} 期间内", f"purchase date {ds} is within {ss} – {es}")


def check_apply_by(v: RuleVersion, applied: date) -> ConditionResult:
    """Check the application date against the version's deadline, if one is set."""
    c, deadline = "window.apply_by", v.apply_by
    if deadline is None:
        return _NO_DEADLINE
    a, dl = applied.isoformat(), deadline.isoformat()
    if applied > deadline:
        return _R(c, False, f"申请日期 {a} 晚于截止日期 {dl}", f"applied on {a}, after the deadline {dl}")
    return _R(c, True, f"申请日期 {a} 不晚于截止日期 {dl}", f"applied on {a}, on or before the deadline {dl}")


def check_category(v: RuleVersion, f: Facts) -> ConditionResult:
    """Check the category is one the version covers."""
    code = f.category
    if code is None:
        return _missing("category.allowed", "品类", "the category")
    cat = v.category_map.get(code)
    if cat is None:
        return _R(
            "category.allowed",
            False,
            f"品类 {code} 不在本版本补贴范围（{v.covered_zh}）",
            f"category {code} is not covered (covered: {v.covered_en})",
        )
    return _category_ok(code, cat.zh, cat.en)


def check_price(v: RuleVersion, f: Facts) -> ConditionResult:
    """Check the price the formula needs is given and positive."""
    c, (zh, en) = "price.positive", _BASIS[v.price_basis]
    price = basis_price(v, f)
    if price is None:
        return _missing(c, zh, en)
    ps = f"{price:.2f}"
    if price <= 0:
        return _R(c, False, f"{zh} {ps} 元不是正数", f"{en} {ps} is not positive")
    return _R(c, True, f"{zh} {ps} 元", f"{en} {ps}")


def _individual(cl: ApplicantIndividual, v: RuleVersion, f: Facts) -> ConditionResult:
    return _INDIVIDUAL_OK if f.applicant_is_individual else _INDIVIDUAL_NO


def _same_person(cl: SamePerson, v: RuleVersion, f: Facts) -> ConditionResult:
    return _SAME_OK if f.old_and_new_same_owner else _SAME_NO


def _first_registration(cl: FirstRegistrationLimits, v: RuleVersion, f: Facts) -> ConditionResult:
    c, fuel, d = cl.clause, f.old_vehicle_fuel, f.old_vehicle_first_registration
    if fuel is None:
        return _missing(c, "旧车燃料类型", "the old vehicle's fuel type")
    limit = cl.on_or_before.get(fuel)
    if limit is None:
        return _R(
            c,
            False,
            f"燃料类型 {fuel} 的旧车不在本版本报废范围",
            f"no first-registration limit for fuel type {fuel}: not eligible",
        )
    if d is None:
        return _missing(c, "旧车初次注册日期", "the old vehicle's first registration date")
    ds, ls, fz = d.isoformat(), limit.isoformat(), _FUEL_ZH.get(fuel, fuel)
    if d > limit:
        return _R(
            c,
            False,
            f"旧车注册日期 {ds} 晚于 {ls}（{fz}）",
            f"first registration {ds} is after {ls} ({fuel})",
        )
    return _R(
        c,
        True,
        f"旧车注册日期 {ds} 不晚于 {ls}（{fz}）",
        f"first registration {ds} is on or before {ls} ({fuel})",
    )


def _owner_since(cl: OwnerSinceCutoff, v: RuleVersion, f: Facts) -> ConditionResult:
    c, d = cl.clause, f.old_vehicle_owner_since
    if d is None:
        return _missing(
            c, "旧车登记在申请人名下的日期", "the date the old vehicle was registered to the applicant"
        )
    ds = d.isoformat()
    zh, en = f"旧车登记在申请人名下日期 {ds}", f"registered to the applicant on {ds}"
    if cl.before is not None:
        b = cl.before.isoformat()
        if d < cl.before:
            return _R(c, True, f"{zh} 早于 {b}", f"{en}, before {b}")
        return _R(c, False, f"{zh} 不早于 {b}", f"{en}, not before {b}")
    last = cl.on_or_before
    assert last is not None  # an unset cutoff is not an active condition
    ls = last.isoformat()
    if d <= last:
        return _R(c, True, f"{zh} 不晚于 {ls}", f"{en}, on or before {ls}")
    return _R(c, False, f"{zh} 晚于 {ls}", f"{en}, after {ls}")


def _nev_needs_nev(cl: NevRequiresNewNev, v: RuleVersion, f: Facts) -> ConditionResult:
    c, old, new = cl.clause, f.old_vehicle_fuel, f.new_vehicle_type
    if old is None:
        return _missing(c, "旧车燃料类型", "the old vehicle's fuel type")
    if old != "nev":
        return _OLD_NOT_NEV
    if new is None:
        return _missing(c, "新车类型", "the new vehicle's type")
    if new == "nev":
        return _NEV_FOR_NEV
    return _R(
        c,
        False,
        f"报废新能源汽车只能购买新能源汽车，新车为{TYPE_ZH.get(new, new)}",
        f"a scrapped NEV qualifies only for a new NEV; the new vehicle is a {TYPE_EN.get(new, new)}",
    )


def _new_type(cl: NewVehicleTypeAllowed, v: RuleVersion, f: Facts) -> ConditionResult:
    c, t = cl.clause, f.new_vehicle_type
    if t is None:
        return _missing(c, "新车类型", "the new vehicle's type")
    if t not in cl.allowed:
        allowed_zh = "、".join(TYPE_ZH.get(a, a) for a in cl.allowed)
        return _R(
            c,
            False,
            f"新车类型 {t} 不符合要求（限{allowed_zh}）",
            f"new vehicle type {t} is not allowed (allowed: {', '.join(cl.allowed)})",
        )
    return _R(c, True, f"新车类型：{TYPE_ZH.get(t, t)}", f"new vehicle type: {TYPE_EN.get(t, t)}")


def _displacement(cl: FuelDisplacementMax, v: RuleVersion, f: Facts) -> ConditionResult:
    c, t, d, top = cl.clause, f.new_vehicle_type, f.new_vehicle_displacement_l, cl.fuel_max_l
    if t == "nev":
        return _NEV_NO_LIMIT
    if t != "fuel":
        return _TYPE_UNKNOWN
    if d is None:
        return _missing(c, "燃油车排量", "the fuel car's displacement")
    if d > top:
        return _R(c, False, f"燃油车排量 {d}L 超过 {top}L", f"fuel car displacement {d} L exceeds {top} L")
    return _R(c, True, f"燃油车排量 {d}L 不超过 {top}L", f"fuel car displacement {d} L is at most {top} L")


def _catalogue(cl: NevCatalogue, v: RuleVersion, f: Facts) -> ConditionResult:
    t = f.new_vehicle_type
    if t is None:
        return _missing(cl.clause, "新车类型", "the new vehicle's type")
    if t != "nev":
        return _CATALOGUE_NA
    return _CATALOGUE_OK if f.new_vehicle_in_nev_catalogue else _CATALOGUE_NO


def _energy_grade(cl: EnergyGradeAllowed, v: RuleVersion, f: Facts) -> ConditionResult:
    c, g = cl.clause, f.energy_grade
    if g is None:
        return _missing(c, "能效等级", "the energy-efficiency grade")
    allowed = "、".join(str(x) for x in cl.grades)
    if g not in cl.grades:
        return _R(
            c,
            False,
            f"能效等级 {g} 级不在允许范围（{allowed}级）",
            f"energy grade {g} is not allowed (allowed: {', '.join(str(x) for x in cl.grades)})",
        )
    return _R(c, True, f"能效等级 {g} 级，符合要求（{allowed}级）", f"energy grade {g} is allowed")


def _unit_ceiling(cl: UnitPriceCeiling, v: RuleVersion, f: Facts) -> ConditionResult:
    c, price = cl.clause, basis_price(v, f)
    if price is None:
        return _missing(c, "单价", "the unit price")
    ps = f"{price:.2f}"  # the ceiling is stored at the fen already
    if price > cl.max:
        return _R(
            c,
            False,
            f"单价 {ps} 元超过上限 {cl.max} 元",
            f"unit price {ps} exceeds the ceiling {cl.max}",
        )
    return _R(
        c,
        True,
        f"单价 {ps} 元不超过上限 {cl.max} 元",
        f"unit price {ps} is within the ceiling {cl.max}",
    )


# The evaluator dispatches on the clause's type: one dict lookup per clause keeps evaluation cheap.
CHECKS: dict[type, Callable[[Any, RuleVersion, Facts], ConditionResult]] = {
    ApplicantIndividual: _individual,
    SamePerson: _same_person,
    FirstRegistrationLimits: _first_registration,
    OwnerSinceCutoff: _owner_since,
    NevRequiresNewNev: _nev_needs_nev,
    NewVehicleTypeAllowed: _new_type,
    FuelDisplacementMax: _displacement,
    NevCatalogue: _catalogue,
    EnergyGradeAllowed: _energy_grade,
    UnitPriceCeiling: _unit_ceiling,
}
