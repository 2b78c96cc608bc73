"""Pure evaluation of one trade-in's facts against one rule version; no I/O, deterministic."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from subsidy_app.rules.clause_checks import (
    CHECKS,
    TYPE_EN,
    TYPE_ZH,
    basis_price,
    check_apply_by,
    check_category,
    check_price,
    check_window,
)
from subsidy_app.rules.domain import (
    ANY,
    Decision,
    DocumentRequirement,
    Facts,
    FixedByNewVehicleType,
    PercentOfPriceCapped,
    QuotaKey,
)
from subsidy_app.rules.rule_version import RuleVersion

_HUNDRED = Decimal(100)


def select_version(
    versions: Iterable[RuleVersion], programme: str, category: str, purchase_date: date
) -> RuleVersion | None:
    """Return the current version of a programme covering the category on the purchase date, if any.

    A version superseded by a higher version of its series is never chosen, even if only it covers the date.
    """
    latest: dict[str, int] = {}
    candidates: list[RuleVersion] = []
    for v in versions:
        if v.version > latest.get(v.series, 0):
            latest[v.series] = v.version
        if (
            v.programme == programme
            and category in v.category_map
            and v.effective_from <= purchase_date
            and (v.effective_to is None or purchase_date <= v.effective_to)
        ):
            candidates.append(v)
    found: RuleVersion | None = None
    for v in candidates:
        if v.version != latest[v.series]:
            continue
        # Two candidates only when overlaps were not checked: prefer the newest, deterministically.
        if found is None or (v.effective_from, v.code) > (found.effective_from, found.code):
            found = v
    return found


def _amount(v: RuleVersion, f: Facts) -> tuple[Decimal, str, str]:
    """Compute the amount for facts that passed every clause, with its working in both languages."""
    formula = v.amount
    if isinstance(formula, FixedByNewVehicleType):
        t = f.new_vehicle_type or ANY
        amount = formula.amounts[t].quantize(v.quantum, rounding=v.rounding_constant)
        return (
            amount,
            f"{TYPE_ZH.get(t, t)}定额补贴 {amount} 元",
            f"fixed amount for {TYPE_EN.get(t, t)}: {amount}",
        )
    price = basis_price(v, f)
    assert price is not None  # the implicit price.positive clause passed
    if isinstance(formula, PercentOfPriceCapped):
        rates, caps, t = formula.rate_percent, formula.cap, f.new_vehicle_type or ANY
        rate = rates[ANY] if ANY in rates else rates[t]
        cap = caps[ANY] if ANY in caps else caps[t]
    else:
        assert f.energy_grade is not None  # the energy_grade.allowed clause passed
        rate, cap = formula.rate_percent_by_grade[f.energy_grade], formula.cap
    raw = price * rate / _HUNDRED
    # Caps are validated to be exact at the rounding places, so capping before rounding equals after.
    amount = min(raw, cap).quantize(v.quantum, rounding=v.rounding_constant)
    ps = f"{price:.2f}"
    if raw > cap:
        return (
            amount,
            f"{ps} × {rate}% = {raw}，超过上限，补贴 {amount} 元",
            f"{ps} × {rate}% = {raw}, over the cap: amount {amount}",
        )
    return (
        amount,
        f"{ps} × {rate}% = {raw}，上限 {cap}，补贴 {amount} 元",
        f"{ps} × {rate}% = {raw}, cap {cap}: amount {amount}",
    )


def evaluate(version: RuleVersion, facts: Facts) -> Decision:
    """Evaluate every clause (not stopping at a failure) and compute the amount when all pass.

    Clause order: window.purchase_date, window.apply_by (only when facts.applied_on is given),
    category.allowed, price.positive (formulas using the price), then the version's conditions in file order.
    """
    if facts.programme != version.programme:
        raise ValueError(
            f"facts are for {facts.programme}, version {version.code} is for {version.programme}"
        )
    results = [check_window(version, facts)]
    if facts.applied_on is not None:
        results.append(check_apply_by(version, facts.applied_on))
    results.append(check_category(version, facts))
    if version.needs_price:
        results.append(check_price(version, facts))
    checks = CHECKS
    for clause in version.active_conditions:
        results.append(checks[type(clause)](clause, version, facts))
    eligible = True
    for r in results:
        if not r.passed:
            eligible = False
            break
    if eligible:
        amount, why_zh, why_en = _amount(version, facts)
    else:
        amount = version.zero_amount
        why_zh, why_en = f"不符合条件，补贴 {amount} 元", f"not eligible: amount {amount}"
    category = facts.category
    quota: QuotaKey | None = None
    docs: tuple[DocumentRequirement, ...] | None = None
    if category is not None:
        docs = version.documents_by_category.get(category)
        quota = version.version_quota.get(category)
        if quota is None and category in version.quota_max:  # calendar-year limits key on the purchase year
            period, n = version.limits.period, version.quota_max[category]
            quota = QuotaKey(version.programme.value, category, period, str(facts.purchase_date.year), n)
    return Decision(
        version.code,
        version.version,
        version.content_hash,
        eligible,
        amount,
        tuple(results),
        quota,
        version.exclusions,
        docs if docs is not None else version.documents,
        why_zh,
        why_en,
    )
