"""Pure evaluation of one trade-in's facts against one rule version; no I/O, deterministic."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from subsidy_app.rules.domain import (
    ANY,
    ApplicantIndividual,
    ConditionResult,
    Decision,
    EnergyGradeAllowed,
    Facts,
    FirstRegistrationLimits,
    FixedByNewVehicleType,
    FuelDisplacementMax,
    LimitPeriod,
    NevCatalogue,
    NevRequiresNewNev,
    NewVehicleTypeAllowed,
    OwnerSinceCutoff,
    PercentOfPriceCapped,
    PriceBasis,
    QuotaKey,
    RoundingMode,
    SamePerson,
    UnitPriceCeiling,
)
from subsidy_app.rules.ruleset import RuleVersion, current_versions

_ROUNDING = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
    RoundingMode.DOWN: ROUND_DOWN,
}
_FUEL_ZH = {"petrol": "汽油车", "diesel": "柴油车", "other": "其他燃料车", "nev": "新能源汽车"}
_TYPE_ZH = {"nev": "新能源汽车", "fuel": "燃油车"}
_TYPE_EN = {"nev": "NEV", "fuel": "fuel car"}
_BASIS = {
    PriceBasis.INVOICE_TOTAL_INCL_TAX: ("发票价税合计", "invoice total incl. tax"),
    PriceBasis.INVOICE_AMOUNT_EXCL_TAX: ("发票不含税金额", "invoice amount excl. tax"),
}
_HUNDRED = Decimal(100)


def select_version(
    versions: Iterable[RuleVersion], programme: str, category: str, purchase_date: date
) -> RuleVersion | None:
    """Return the current version of a programme covering the category on the purchase date, if any."""
    found: RuleVersion | None = None
    for v in current_versions(versions):
        if v.programme != programme or category not in v.category_map or not v.covers(purchase_date):
            continue
        # Two candidates only when overlaps were not checked: prefer the newest, deterministically.
        if found is None or (v.effective_from, v.code) > (found.effective_from, found.code):
            found = v
    return found


def _r(clause: str, passed: bool, zh: str, en: str) -> ConditionResult:
    return ConditionResult(clause, passed, zh, en)


def _missing(clause: str, zh: str, en: str) -> ConditionResult:
    return ConditionResult(clause, False, f"缺少{zh}", f"{en} is missing")


def _basis_price(version: RuleVersion, facts: Facts) -> Decimal | None:
    if version.price_basis is PriceBasis.INVOICE_AMOUNT_EXCL_TAX:
        return facts.price_excl_tax
    return facts.price


def _window(v: RuleVersion, f: Facts) -> ConditionResult:
    d, start, end = f.purchase_date, v.effective_from, v.effective_to
    c = "window.purchase_date"
    if d < start:
        return _r(
            c,
            False,
            f"购买日期 {d} 早于政策开始日期 {start}",
            f"purchase date {d} is before the start {start}",
        )
    if end is not None and d > end:
        return _r(
            c, False, f"购买日期 {d} 晚于政策结束日期 {end}", f"purchase date {d} is after the end {end}"
        )
    return _r(
        c,
        True,
        f"购买日期 {d} 在 {start} 至 {end or '长期'} 期间内",
        f"purchase date {d} is within {start} – {end or 'open end'}",
    )


def _apply_by(v: RuleVersion, f: Facts, applied: date) -> ConditionResult:
    c, deadline = "window.apply_by", v.apply_by
    if deadline is None:
        return _r(
            c, True, "本版本未设定申请截止日期（待确认）", "no application deadline is set (unconfirmed)"
        )
    if applied > deadline:
        return _r(
            c,
            False,
            f"申请日期 {applied} 晚于截止日期 {deadline}",
            f"applied on {applied}, after the deadline {deadline}",
        )
    return _r(
        c,
        True,
        f"申请日期 {applied} 不晚于截止日期 {deadline}",
        f"applied on {applied}, on or before the deadline {deadline}",
    )


def _category(v: RuleVersion, f: Facts) -> ConditionResult:
    c, code = "category.allowed", f.category
    if code is None:
        return _missing(c, "品类", "category")
    cat = v.category_map.get(code)
    if cat is None:
        return _r(
            c,
            False,
            f"品类 {code} 不在本版本补贴范围（{v.covered_zh}）",
            f"category {code} is not covered (covered: {v.covered_en})",
        )
    return _r(c, True, f"品类 {cat.zh} 在本版本补贴范围内", f"category {code} ({cat.en}) is covered")


def _price(v: RuleVersion, f: Facts) -> ConditionResult:
    c, (zh, en) = "price.positive", _BASIS[v.price_basis]
    price = _basis_price(v, f)
    if price is None:
        return _missing(c, zh, en)
    if price <= 0:
        return _r(c, False, f"{zh} {price:.2f} 元不是正数", f"{en} {price:.2f} is not positive")
    return _r(c, True, f"{zh} {price:.2f} 元", f"{en} {price:.2f}")


def _individual(cl: ApplicantIndividual, v: RuleVersion, f: Facts) -> ConditionResult:
    if f.applicant_is_individual:
        return _r(cl.clause, True, "申请人为个人", "the applicant is an individual")
    return _r(
        cl.clause,
        False,
        "申请人不是个人，本政策仅限个人",
        "the applicant is not an individual; individuals only",
    )


def _same_person(cl: SamePerson, v: RuleVersion, f: Facts) -> ConditionResult:
    if f.old_and_new_same_owner:
        return _r(
            cl.clause, True, "旧车与新车属于同一申请人", "the old and the new vehicle belong to the applicant"
        )
    return _r(
        cl.clause, False, "旧车与新车不属于同一人", "the old and the new vehicle belong to different people"
    )


def _first_registration(cl: FirstRegistrationLimits, v: RuleVersion, f: Facts) -> ConditionResult:
    c, fuel, d = cl.clause, f.old_vehicle_fuel, f.old_vehicle_first_registration
    if fuel is None:
        return _missing(c, "旧车燃料类型", "the old vehicle's fuel type")
    limit = cl.on_or_before.get(fuel)
    if limit is None:
        return _r(
            c,
            False,
            f"燃料类型 {fuel} 的旧车不在本版本报废范围",
            f"no first-registration limit for fuel type {fuel}: not eligible",
        )
    if d is None:
        return _missing(c, "旧车初次注册日期", "the old vehicle's first registration date")
    fz = _FUEL_ZH.get(fuel, fuel)
    if d > limit:
        return _r(
            c,
            False,
            f"旧车注册日期 {d} 晚于 {limit}（{fz}）",
            f"first registration {d} is after {limit} ({fuel})",
        )
    return _r(
        c,
        True,
        f"旧车注册日期 {d} 不晚于 {limit}（{fz}）",
        f"first registration {d} is on or before {limit} ({fuel})",
    )


def _owner_since(cl: OwnerSinceCutoff, v: RuleVersion, f: Facts) -> ConditionResult:
    c, d = cl.clause, f.old_vehicle_owner_since
    if d is None:
        return _missing(
            c, "旧车登记在申请人名下的日期", "the date the old vehicle was registered to the applicant"
        )
    if cl.before is not None:
        if d < cl.before:
            return _r(
                c,
                True,
                f"旧车登记在申请人名下日期 {d} 早于 {cl.before}",
                f"registered to the applicant on {d}, before {cl.before}",
            )
        return _r(
            c,
            False,
            f"旧车登记在申请人名下日期 {d} 不早于 {cl.before}",
            f"registered to the applicant on {d}, not before {cl.before}",
        )
    last = cl.on_or_before
    assert last is not None  # inactive cutoffs are skipped by evaluate
    if d <= last:
        return _r(
            c,
            True,
            f"旧车登记在申请人名下日期 {d} 不晚于 {last}",
            f"registered to the applicant on {d}, on or before {last}",
        )
    return _r(
        c,
        False,
        f"旧车登记在申请人名下日期 {d} 晚于 {last}",
        f"registered to the applicant on {d}, after {last}",
    )


def _nev_needs_nev(cl: NevRequiresNewNev, v: RuleVersion, f: Facts) -> ConditionResult:
    c, old, new = cl.clause, f.old_vehicle_fuel, f.new_vehicle_type
    if old is None:
        return _missing(c, "旧车燃料类型", "the old vehicle's fuel type")
    if old != "nev":
        return _r(
            c, True, "旧车不是新能源汽车，不受此项限制", "the old vehicle is not an NEV: no restriction"
        )
    if new is None:
        return _missing(c, "新车类型", "the new vehicle's type")
    if new != "nev":
        return _r(
            c,
            False,
            f"报废新能源汽车只能购买新能源汽车，新车为{_TYPE_ZH.get(new, new)}",
            f"a scrapped NEV qualifies only for a new NEV; the new vehicle is a {_TYPE_EN.get(new, new)}",
        )
    return _r(c, True, "报废新能源汽车，购买新能源汽车", "scrapped an NEV and bought an NEV")


def _new_type(cl: NewVehicleTypeAllowed, v: RuleVersion, f: Facts) -> ConditionResult:
    c, t = cl.clause, f.new_vehicle_type
    if t is None:
        return _missing(c, "新车类型", "the new vehicle's type")
    if t not in cl.allowed:
        allowed_zh = "、".join(_TYPE_ZH.get(a, a) for a in cl.allowed)
        return _r(
            c,
            False,
            f"新车类型 {t} 不符合要求（限{allowed_zh}）",
            f"new vehicle type {t} is not allowed (allowed: {', '.join(cl.allowed)})",
        )
    return _r(c, True, f"新车类型：{_TYPE_ZH.get(t, t)}", f"new vehicle type: {_TYPE_EN.get(t, t)}")


def _displacement(cl: FuelDisplacementMax, v: RuleVersion, f: Facts) -> ConditionResult:
    c, t, d, top = cl.clause, f.new_vehicle_type, f.new_vehicle_displacement_l, cl.fuel_max_l
    if t == "nev":
        return _r(c, True, "新能源汽车不受排量限制", "NEV: no displacement limit")
    if t != "fuel":
        return _r(
            c, False, "新车类型未知，无法判断排量", "new vehicle type unknown: displacement cannot be checked"
        )
    if d is None:
        return _missing(c, "燃油车排量", "the fuel car's displacement")
    if d > top:
        return _r(c, False, f"燃油车排量 {d}L 超过 {top}L", f"fuel car displacement {d} L exceeds {top} L")
    return _r(c, True, f"燃油车排量 {d}L 不超过 {top}L", f"fuel car displacement {d} L is at most {top} L")


def _catalogue(cl: NevCatalogue, v: RuleVersion, f: Facts) -> ConditionResult:
    c, t = cl.clause, f.new_vehicle_type
    if t is None:
        return _missing(c, "新车类型", "the new vehicle's type")
    if t != "nev":
        return _r(c, True, "燃油车无需列入新能源汽车目录", "not an NEV: the NEV catalogue does not apply")
    if f.new_vehicle_in_nev_catalogue:
        return _r(
            c,
            True,
            "新能源汽车列入免征车辆购置税目录",
            "the NEV is in the MIIT purchase-tax exemption catalogue",
        )
    return _r(
        c,
        False,
        "新能源汽车未列入免征车辆购置税目录",
        "the NEV is not in the MIIT purchase-tax exemption catalogue",
    )


def _energy_grade(cl: EnergyGradeAllowed, v: RuleVersion, f: Facts) -> ConditionResult:
    c, g = cl.clause, f.energy_grade
    if g is None:
        return _missing(c, "能效等级", "the energy-efficiency grade")
    allowed = "、".join(str(x) for x in cl.grades)
    if g not in cl.grades:
        return _r(
            c,
            False,
            f"能效等级 {g} 级不在允许范围（{allowed}级）",
            f"energy grade {g} is not allowed (allowed: {', '.join(str(x) for x in cl.grades)})",
        )
    return _r(c, True, f"能效等级 {g} 级，符合要求（{allowed}级）", f"energy grade {g} is allowed")


def _unit_ceiling(cl: UnitPriceCeiling, v: RuleVersion, f: Facts) -> ConditionResult:
    c, price = cl.clause, _basis_price(v, f)
    if price is None:
        return _missing(c, "单价", "the unit price")
    if price > cl.max:
        return _r(
            c,
            False,
            f"单价 {price:.2f} 元超过上限 {cl.max:.2f} 元",
            f"unit price {price:.2f} exceeds the ceiling {cl.max:.2f}",
        )
    return _r(
        c,
        True,
        f"单价 {price:.2f} 元不超过上限 {cl.max:.2f} 元",
        f"unit price {price:.2f} is within the ceiling {cl.max:.2f}",
    )


_CHECKS: dict[type, Callable[[Any, RuleVersion, Facts], ConditionResult]] = {
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


def _amount(v: RuleVersion, f: Facts) -> tuple[Decimal, str, str]:
    """Compute the amount for facts that passed every clause, with its working in both languages."""
    exp = Decimal(1).scaleb(-v.rounding.places)
    mode = _ROUNDING[v.rounding.mode]
    formula = v.amount
    if isinstance(formula, FixedByNewVehicleType):
        t = f.new_vehicle_type or ANY
        amount = formula.amounts[t].quantize(exp, rounding=mode)
        return (
            amount,
            f"{_TYPE_ZH.get(t, t)}定额补贴 {amount} 元",
            f"fixed amount for {_TYPE_EN.get(t, t)}: {amount}",
        )
    price = _basis_price(v, f)
    assert price is not None  # the implicit price.positive clause passed
    if isinstance(formula, PercentOfPriceCapped):
        key = ANY if ANY in formula.rate_percent else (f.new_vehicle_type or ANY)
        rate = formula.rate_percent[key]
        cap = formula.cap[ANY] if ANY in formula.cap else formula.cap[f.new_vehicle_type or ANY]
    else:
        assert f.energy_grade is not None  # the energy_grade.allowed clause passed
        rate, cap = formula.rate_percent_by_grade[f.energy_grade], formula.cap
    raw = price * rate / _HUNDRED
    # The cap is validated to be representable at the rounding places, so capping then rounding is exact.
    amount = min(raw, cap).quantize(exp, rounding=mode)
    capped = "，已封顶" if raw > cap else ""
    capped_en = ", capped" if raw > cap else ""
    return (
        amount,
        f"{price:.2f} × {rate}% = {raw}，上限 {cap}{capped}，补贴 {amount} 元",
        f"{price:.2f} × {rate}% = {raw}, cap {cap}{capped_en}: amount {amount}",
    )


def evaluate(version: RuleVersion, facts: Facts) -> Decision:
    """Evaluate every clause of the version against the facts and compute the amount when all pass."""
    if facts.programme != version.programme:
        raise ValueError(
            f"facts are for {facts.programme}, version {version.code} is for {version.programme}"
        )
    results = [_window(version, facts)]
    if facts.applied_on is not None:
        results.append(_apply_by(version, facts, facts.applied_on))
    results.append(_category(version, facts))
    if version.needs_price:
        results.append(_price(version, facts))
    for clause in version.conditions:
        if isinstance(clause, OwnerSinceCutoff) and not clause.active:
            continue  # cutoff unconfirmed for this version: no condition
        results.append(_CHECKS[type(clause)](clause, version, facts))
    eligible = all(r.passed for r in results)
    if eligible:
        amount, why_zh, why_en = _amount(version, facts)
    else:
        amount = Decimal(0).quantize(Decimal(1).scaleb(-version.rounding.places))
        why_zh, why_en = f"不符合条件，补贴 {amount} 元", f"not eligible: amount {amount}"
    category = facts.category
    quota: QuotaKey | None = None
    docs = version.documents_by_category.get(category) if category is not None else None
    if category is not None and category in version.quota_max:
        period = version.limits.period
        key = version.series if period is LimitPeriod.VERSION else str(facts.purchase_date.year)
        quota = QuotaKey(str(version.programme), category, period, key, version.quota_max[category])
    return Decision(
        version_code=version.code,
        version=version.version,
        version_hash=version.content_hash,
        eligible=eligible,
        amount=amount,
        conditions=tuple(results),
        quota=quota,
        exclusions=version.exclusions,
        required_documents=docs if docs is not None else version.documents,
        amount_explanation_zh=why_zh,
        amount_explanation_en=why_en,
    )
