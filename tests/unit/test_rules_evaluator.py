"""The evaluator applies every row of DOMAIN.md §1 (cars) and §2 (appliances, digital) at the boundaries."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from subsidy_app.rules.domain import ConditionResult, Decision, Facts, LimitPeriod
from subsidy_app.rules.evaluator import evaluate, select_version
from subsidy_app.rules.ruleset import RuleVersion, load_rule_file, load_rules_dir

VERSIONS = load_rules_dir()
BY_CODE = {v.code: v for v in VERSIONS}
CAR_SCRAP = ("car_scrap-2024", "car_scrap-2025", "car_scrap-2026")
CAR_REPLACE = ("car_replace-2024", "car_replace-2025", "car_replace-2026")
# A purchase date inside each car version's window.
CAR_PURCHASE = {"2024": date(2024, 9, 1), "2025": date(2025, 6, 1), "2026": date(2026, 6, 1)}
D = Decimal


def car(code: str, **changes: object) -> Facts:
    """Facts for an eligible car trade-in under the version `code`, with some fields changed."""
    programme, year = code.split("-")
    base = Facts(
        programme=programme,
        purchase_date=CAR_PURCHASE[year],
        price=D("100000.00"),
        category="passenger_car",
        new_vehicle_type="nev",
        new_vehicle_displacement_l=None,
        old_vehicle_fuel="petrol",
        old_vehicle_first_registration=date(2010, 1, 1),
        old_vehicle_owner_since=date(2020, 1, 1),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def item(programme: str, purchase: date, category: str, price: str, grade: int | None = None) -> Facts:
    """Facts for an appliance or digital purchase."""
    return Facts(programme, purchase, price=D(price), category=category, energy_grade=grade)


def decide(facts: Facts) -> Decision:
    """Select the version by purchase date, as a service would, and evaluate."""
    assert facts.category is not None
    version = select_version(VERSIONS, facts.programme, facts.category, facts.purchase_date)
    assert version is not None, f"no version for {facts}"
    return evaluate(version, facts)


def clause(decision: Decision, code: str) -> ConditionResult:
    """Return the one result for a clause code."""
    found = [c for c in decision.conditions if c.clause == code]
    assert len(found) == 1, f"{code} in {[c.clause for c in decision.conditions]}"
    return found[0]


def assert_fails_only(decision: Decision, code: str) -> ConditionResult:
    """Assert the decision is ineligible (amount 0.00) because of exactly this clause."""
    assert not decision.eligible
    assert decision.amount == D("0.00") and str(decision.amount) == "0.00"
    assert [c.clause for c in decision.failed] == [code]
    return clause(decision, code)


# ---- §1 cars: old-vehicle first registration, every fuel of every version ----

FIRST_REGISTRATION = [
    ("car_scrap-2024", "petrol", date(2011, 6, 30)),
    ("car_scrap-2024", "diesel", date(2013, 6, 30)),
    ("car_scrap-2024", "other", date(2013, 6, 30)),
    ("car_scrap-2024", "nev", date(2018, 4, 30)),
    ("car_scrap-2025", "petrol", date(2012, 6, 30)),
    ("car_scrap-2025", "diesel", date(2014, 6, 30)),
    ("car_scrap-2025", "other", date(2014, 6, 30)),
    ("car_scrap-2025", "nev", date(2018, 12, 31)),
    ("car_scrap-2026", "petrol", date(2013, 6, 30)),
    ("car_scrap-2026", "diesel", date(2015, 6, 30)),
    ("car_scrap-2026", "other", date(2015, 6, 30)),
    ("car_scrap-2026", "nev", date(2019, 12, 31)),
]


@pytest.mark.parametrize(("code", "fuel", "last_day"), FIRST_REGISTRATION)
def test_last_eligible_first_registration_day_passes(code: str, fuel: str, last_day: date) -> None:
    decision = decide(car(code, old_vehicle_fuel=fuel, old_vehicle_first_registration=last_day))
    assert decision.version_code == code
    assert decision.eligible
    result = clause(decision, "old_vehicle.first_registration")
    assert result.passed
    assert f"{last_day} 不晚于 {last_day}" in result.explanation_zh
    assert f"is on or before {last_day}" in result.explanation_en


@pytest.mark.parametrize(("code", "fuel", "last_day"), FIRST_REGISTRATION)
def test_first_registration_one_day_later_fails(code: str, fuel: str, last_day: date) -> None:
    late = last_day + timedelta(days=1)
    decision = decide(car(code, old_vehicle_fuel=fuel, old_vehicle_first_registration=late))
    result = assert_fails_only(decision, "old_vehicle.first_registration")
    assert result.explanation_zh.startswith(f"旧车注册日期 {late} 晚于 {last_day}")
    assert result.explanation_en.startswith(f"first registration {late} is after {last_day}")


def test_example_explanation_reads_as_in_the_issue() -> None:
    decision = decide(car("car_scrap-2025", old_vehicle_first_registration=date(2012, 7, 15)))
    result = clause(decision, "old_vehicle.first_registration")
    assert result.explanation_zh == "旧车注册日期 2012-07-15 晚于 2012-06-30（汽油车）"
    assert result.explanation_en == "first registration 2012-07-15 is after 2012-06-30 (petrol)"


@pytest.mark.parametrize("code", CAR_REPLACE)
def test_replacement_has_no_old_vehicle_age_limit(code: str) -> None:
    decision = decide(car(code, old_vehicle_first_registration=date(2024, 1, 1), old_vehicle_fuel="nev"))
    assert decision.eligible
    assert "old_vehicle.first_registration" not in {c.clause for c in decision.conditions}
    assert "old_vehicle.nev_requires_new_nev" not in {c.clause for c in decision.conditions}


# ---- §1 cars: owner cutoff ----

OWNER_CUTOFF = [
    # 2024: registered in the applicant's name BY 2024-07-24 (inclusive)
    ("car_scrap-2024", date(2024, 7, 24), date(2024, 7, 25)),
    ("car_replace-2024", date(2024, 7, 24), date(2024, 7, 25)),
    # 2025: registered in the applicant's name BEFORE 2025-01-08
    ("car_scrap-2025", date(2025, 1, 7), date(2025, 1, 8)),
    ("car_replace-2025", date(2025, 1, 7), date(2025, 1, 8)),
]


@pytest.mark.parametrize(("code", "last_ok", "first_bad"), OWNER_CUTOFF)
def test_owner_cutoff_boundary(code: str, last_ok: date, first_bad: date) -> None:
    ok = decide(car(code, old_vehicle_owner_since=last_ok))
    assert ok.eligible and clause(ok, "old_vehicle.owner_since").passed
    bad = decide(car(code, old_vehicle_owner_since=first_bad))
    result = assert_fails_only(bad, "old_vehicle.owner_since")
    assert str(first_bad) in result.explanation_zh and str(first_bad) in result.explanation_en


@pytest.mark.parametrize("code", ["car_scrap-2026", "car_replace-2026"])
def test_2026_owner_cutoff_is_unconfirmed_so_no_condition(code: str) -> None:
    for owner_since in (None, date(2026, 5, 31)):
        decision = decide(car(code, old_vehicle_owner_since=owner_since))
        assert decision.eligible
        assert "old_vehicle.owner_since" not in {c.clause for c in decision.conditions}


def test_missing_owner_since_fails_saying_it_is_missing() -> None:
    result = assert_fails_only(
        decide(car("car_scrap-2025", old_vehicle_owner_since=None)), "old_vehicle.owner_since"
    )
    assert result.explanation_zh.startswith("缺少") and result.explanation_en.endswith("is missing")


# ---- §1 cars: amounts ----

FIXED_AMOUNTS = [
    ("car_scrap-2024", "nev", "20000.00"),
    ("car_scrap-2024", "fuel", "15000.00"),
    ("car_scrap-2025", "nev", "20000.00"),
    ("car_scrap-2025", "fuel", "15000.00"),
    # replacement: 2024 "set locally" (Lüliang local value = 2025 figures), 2025 "up to", tiers local
    ("car_replace-2024", "nev", "15000.00"),
    ("car_replace-2024", "fuel", "13000.00"),
    ("car_replace-2025", "nev", "15000.00"),
    ("car_replace-2025", "fuel", "13000.00"),
]


@pytest.mark.parametrize(("code", "new_type", "amount"), FIXED_AMOUNTS)
def test_fixed_amount_by_new_vehicle_type(code: str, new_type: str, amount: str) -> None:
    for price in ("50000.00", "400000.00"):  # a fixed amount does not depend on the price
        decision = decide(
            car(code, new_vehicle_type=new_type, new_vehicle_displacement_l=D("1.5"), price=D(price))
        )
        assert decision.eligible
        assert decision.amount == D(amount) and str(decision.amount) == amount


PERCENT_AMOUNTS = [
    # 2026 scrap, new NEV: 12 % capped at 20,000 (20,000 / 12 % = 166,666.666…)
    ("car_scrap-2026", "nev", "100000.00", "12000.00"),
    ("car_scrap-2026", "nev", "166666.62", "19999.99"),
    ("car_scrap-2026", "nev", "166666.66", "20000.00"),  # 19,999.9992 rounds half-up to the cap
    ("car_scrap-2026", "nev", "166666.67", "20000.00"),  # first fen above the cap price: capped
    ("car_scrap-2026", "nev", "500000.00", "20000.00"),
    # 2026 scrap, new fuel car: 10 % capped at 15,000 (cap price 150,000.00 exactly)
    ("car_scrap-2026", "fuel", "150000.00", "15000.00"),
    ("car_scrap-2026", "fuel", "150000.01", "15000.00"),
    ("car_scrap-2026", "fuel", "149999.95", "15000.00"),  # 14,999.995 half-up
    ("car_scrap-2026", "fuel", "149999.94", "14999.99"),
    ("car_scrap-2026", "fuel", "120000.00", "12000.00"),
    # 2026 replacement, new NEV: 8 % capped at 15,000 (cap price 187,500.00 exactly)
    ("car_replace-2026", "nev", "187500.00", "15000.00"),
    ("car_replace-2026", "nev", "187500.01", "15000.00"),
    ("car_replace-2026", "nev", "187499.93", "14999.99"),
    ("car_replace-2026", "nev", "100000.00", "8000.00"),
    # 2026 replacement, new fuel car: 6 % capped at 13,000 (cap price 216,666.666…)
    ("car_replace-2026", "fuel", "216666.66", "13000.00"),
    ("car_replace-2026", "fuel", "216666.67", "13000.00"),
    ("car_replace-2026", "fuel", "216666.58", "12999.99"),
    ("car_replace-2026", "fuel", "100000.00", "6000.00"),
]


@pytest.mark.parametrize(("code", "new_type", "price", "amount"), PERCENT_AMOUNTS)
def test_percent_of_price_capped(code: str, new_type: str, price: str, amount: str) -> None:
    facts = car(code, new_vehicle_type=new_type, new_vehicle_displacement_l=D("1.5"), price=D(price))
    decision = decide(facts)
    assert decision.eligible
    assert decision.amount == D(amount) and str(decision.amount) == amount
    assert price in decision.amount_explanation_en and amount in decision.amount_explanation_zh


def test_capped_amount_says_so() -> None:
    decision = decide(car("car_scrap-2026", price=D("166666.67")))
    assert "超过上限" in decision.amount_explanation_zh
    assert "over the cap" in decision.amount_explanation_en


def test_percentage_needs_a_price() -> None:
    result = assert_fails_only(decide(car("car_scrap-2026", price=None)), "price.positive")
    assert result.explanation_en == "invoice total incl. tax is missing"
    assert_fails_only(decide(car("car_scrap-2026", price=D("0.00"))), "price.positive")


# ---- §1 cars: new vehicle, same person, individuals ----


@pytest.mark.parametrize("code", CAR_SCRAP + CAR_REPLACE)
def test_fuel_car_displacement_2_0_passes_and_2_01_fails(code: str) -> None:
    ok = decide(car(code, new_vehicle_type="fuel", new_vehicle_displacement_l=D("2.0")))
    assert ok.eligible
    bad = decide(car(code, new_vehicle_type="fuel", new_vehicle_displacement_l=D("2.01")))
    result = assert_fails_only(bad, "new_vehicle.displacement")
    assert result.explanation_zh == "燃油车排量 2.01L 超过 2.0L"
    assert result.explanation_en == "fuel car displacement 2.01 L exceeds 2.0 L"
    missing = decide(car(code, new_vehicle_type="fuel", new_vehicle_displacement_l=None))
    assert_fails_only(missing, "new_vehicle.displacement")


@pytest.mark.parametrize("code", CAR_SCRAP)
def test_scrapped_nev_qualifies_only_for_a_new_nev(code: str) -> None:
    last = {"car_scrap-2024": date(2018, 4, 30), "car_scrap-2025": date(2018, 12, 31)}.get(
        code, date(2019, 12, 31)
    )
    old_nev = {"old_vehicle_fuel": "nev", "old_vehicle_first_registration": last}
    assert decide(car(code, new_vehicle_type="nev", **old_nev)).eligible
    bad = decide(car(code, new_vehicle_type="fuel", new_vehicle_displacement_l=D("1.5"), **old_nev))
    result = assert_fails_only(bad, "old_vehicle.nev_requires_new_nev")
    assert "只能购买新能源汽车" in result.explanation_zh
    # a scrapped petrol car may be replaced by a fuel car
    assert decide(car(code, new_vehicle_type="fuel", new_vehicle_displacement_l=D("1.5"))).eligible


@pytest.mark.parametrize("code", CAR_SCRAP + CAR_REPLACE)
def test_new_vehicle_rules(code: str) -> None:
    assert_fails_only(decide(car(code, new_vehicle_in_nev_catalogue=False)), "new_vehicle.nev_catalogue")
    assert_fails_only(decide(car(code, old_and_new_same_owner=False)), "applicant.same_person")
    assert_fails_only(decide(car(code, applicant_is_individual=False)), "applicant.individual")
    wrong = decide(car(code, new_vehicle_type="hybrid"))
    assert "new_vehicle.type" in {c.clause for c in wrong.failed} and not wrong.eligible
    # a fuel car needs no catalogue entry
    fuel = decide(
        car(
            code,
            new_vehicle_type="fuel",
            new_vehicle_displacement_l=D("1.5"),
            new_vehicle_in_nev_catalogue=False,
        )
    )
    assert fuel.eligible


def test_every_clause_is_evaluated_and_missing_facts_are_named() -> None:
    facts = Facts(programme="car_scrap", purchase_date=date(2025, 6, 1), category="passenger_car")
    decision = decide(facts)
    assert not decision.eligible
    assert [c.clause for c in decision.conditions] == [
        "window.purchase_date",
        "category.allowed",
        "applicant.individual",
        "old_vehicle.first_registration",
        "old_vehicle.owner_since",
        "old_vehicle.nev_requires_new_nev",
        "new_vehicle.type",
        "new_vehicle.displacement",
        "new_vehicle.nev_catalogue",
        "applicant.same_person",
    ]
    failed = {c.clause: c for c in decision.failed}
    assert set(failed) == {
        "old_vehicle.first_registration",
        "old_vehicle.owner_since",
        "old_vehicle.nev_requires_new_nev",
        "new_vehicle.type",
        "new_vehicle.displacement",
        "new_vehicle.nev_catalogue",
    }
    for code in ("old_vehicle.first_registration", "old_vehicle.owner_since", "new_vehicle.type"):
        assert failed[code].explanation_zh.startswith("缺少") and failed[code].explanation_en.endswith(
            "missing"
        )


def test_car_limit_exclusions_and_documents() -> None:
    scrap = decide(car("car_scrap-2025"))
    assert scrap.quota is not None
    assert (scrap.quota.programme, scrap.quota.category) == ("car_scrap", "passenger_car")
    assert scrap.quota.period is LimitPeriod.CALENDAR_YEAR and scrap.quota.period_key == "2025"
    assert scrap.quota.max_count == 1
    replace = decide(car("car_replace-2025"))
    new_vin = [(e.group, e.key) for e in scrap.exclusions if e.group == "new_vehicle"]
    assert new_vin == [("new_vehicle", "new_vin")]
    assert ("new_vehicle", "new_vin") in {(e.group, e.key) for e in replace.exclusions}
    assert [d.code for d in scrap.required_documents] == [
        "applicant_id",
        "phone",
        "bank_card",
        "scrap_certificate",
        "deregistration_certificate",
        "new_vehicle_sales_invoice",
        "new_vehicle_registration_certificate",
    ]
    assert "scrap_certificate" not in {d.code for d in replace.required_documents}


# ---- windows and deadlines ----

WINDOWS = [
    ("car_scrap", "passenger_car", date(2024, 4, 23), None),
    ("car_scrap", "passenger_car", date(2024, 4, 24), "car_scrap-2024"),
    ("car_scrap", "passenger_car", date(2024, 12, 31), "car_scrap-2024"),
    ("car_scrap", "passenger_car", date(2025, 1, 1), "car_scrap-2025"),
    ("car_scrap", "passenger_car", date(2025, 12, 31), "car_scrap-2025"),
    ("car_scrap", "passenger_car", date(2026, 1, 1), "car_scrap-2026"),
    ("car_scrap", "passenger_car", date(2026, 12, 31), "car_scrap-2026"),
    ("car_replace", "passenger_car", date(2024, 4, 23), None),
    ("car_replace", "passenger_car", date(2024, 4, 24), "car_replace-2024"),
    ("car_replace", "passenger_car", date(2024, 12, 31), "car_replace-2024"),
    ("car_replace", "passenger_car", date(2025, 1, 1), "car_replace-2025"),
    ("car_replace", "passenger_car", date(2025, 12, 31), "car_replace-2025"),
    ("car_replace", "passenger_car", date(2026, 1, 1), "car_replace-2026"),
    ("appliance", "refrigerator", date(2024, 7, 31), None),
    ("appliance", "refrigerator", date(2024, 8, 1), "appliance-2024"),
    ("appliance", "refrigerator", date(2024, 12, 31), "appliance-2024"),
    ("appliance", "refrigerator", date(2025, 1, 1), "appliance-2025"),
    ("appliance", "refrigerator", date(2025, 12, 31), "appliance-2025"),
    ("appliance", "refrigerator", date(2026, 1, 8), None),
    ("appliance", "refrigerator", date(2026, 1, 9), "appliance-2026"),
    ("appliance", "microwave", date(2024, 9, 1), None),  # not covered in 2024
    ("appliance", "microwave", date(2025, 9, 1), "appliance-2025"),
    ("appliance", "microwave", date(2026, 9, 1), None),  # not covered in 2026
    ("digital", "phone", date(2025, 1, 19), None),
    ("digital", "phone", date(2025, 1, 20), "digital-2025"),
    ("digital", "phone", date(2025, 12, 31), "digital-2025"),
    ("digital", "phone", date(2026, 1, 8), None),
    ("digital", "phone", date(2026, 1, 9), "digital-2026"),
    ("digital", "smart_glasses", date(2025, 6, 1), None),
    ("digital", "smart_glasses", date(2026, 6, 1), "digital-2026"),
]


@pytest.mark.parametrize(("programme", "category", "purchase", "expected"), WINDOWS)
def test_version_is_chosen_by_purchase_date(
    programme: str, category: str, purchase: date, expected: str | None
) -> None:
    chosen = select_version(VERSIONS, programme, category, purchase)
    assert (chosen.code if chosen else None) == expected


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_purchase_window_boundaries_in_the_evaluator(code: str) -> None:
    version = BY_CODE[code]
    cat = sorted(version.category_codes)[0]
    facts = Facts(version.programme.value, version.effective_from, price=D("1000.00"), category=cat)
    assert clause(evaluate(version, facts), "window.purchase_date").passed
    before = evaluate(
        version, dataclasses.replace(facts, purchase_date=version.effective_from - timedelta(days=1))
    )
    result = clause(before, "window.purchase_date")
    assert not result.passed and not before.eligible and "早于" in result.explanation_zh
    if version.effective_to is not None:
        assert clause(
            evaluate(version, dataclasses.replace(facts, purchase_date=version.effective_to)),
            "window.purchase_date",
        ).passed
        after = evaluate(
            version, dataclasses.replace(facts, purchase_date=version.effective_to + timedelta(days=1))
        )
        assert (
            not clause(after, "window.purchase_date").passed
            and "is after the end" in after.conditions[0].explanation_en
        )


@pytest.mark.parametrize(
    ("code", "deadline"),
    [
        ("car_scrap-2024", date(2025, 1, 10)),
        ("car_scrap-2025", date(2026, 1, 10)),
        ("car_replace-2025", date(2026, 1, 10)),
    ],
)
def test_application_deadline(code: str, deadline: date) -> None:
    assert decide(car(code, applied_on=deadline)).eligible
    late = decide(car(code, applied_on=deadline + timedelta(days=1)))
    assert_fails_only(late, "window.apply_by")
    assert "window.apply_by" not in {c.clause for c in decide(car(code)).conditions}


def test_unconfirmed_2026_deadline_does_not_block() -> None:
    decision = decide(car("car_scrap-2026", applied_on=date(2027, 3, 1)))
    assert decision.eligible
    assert "unconfirmed" in clause(decision, "window.apply_by").explanation_en


# ---- §2 appliances ----

APPLIANCES_2024 = [
    "refrigerator",
    "washing_machine",
    "television",
    "air_conditioner",
    "computer",
    "water_heater",
    "cooker",
    "range_hood",
]
APPLIANCES_2025 = [*APPLIANCES_2024, "microwave", "water_purifier", "dishwasher", "rice_cooker"]
APPLIANCES_2026 = APPLIANCES_2024[:6]
APPLIANCE_DATE = {
    "appliance-2024": date(2024, 9, 1),
    "appliance-2025": date(2025, 6, 1),
    "appliance-2026": date(2026, 6, 1),
}
COVERAGE = [
    (code, category, category in covered)
    for code, covered in (
        ("appliance-2024", APPLIANCES_2024),
        ("appliance-2025", APPLIANCES_2025),
        ("appliance-2026", APPLIANCES_2026),
    )
    for category in APPLIANCES_2025
]


def test_appliance_categories_go_8_then_12_then_6() -> None:
    assert [c.code for c in BY_CODE["appliance-2024"].categories] == APPLIANCES_2024
    assert [c.code for c in BY_CODE["appliance-2025"].categories] == APPLIANCES_2025
    assert [c.code for c in BY_CODE["appliance-2026"].categories] == APPLIANCES_2026
    labels = {c.code: c.zh for c in BY_CODE["appliance-2025"].categories}
    assert labels == {
        "refrigerator": "冰箱",
        "washing_machine": "洗衣机",
        "television": "电视",
        "air_conditioner": "空调",
        "computer": "电脑",
        "water_heater": "热水器",
        "cooker": "家用灶具",
        "range_hood": "吸油烟机",
        "microwave": "微波炉",
        "water_purifier": "净水器",
        "dishwasher": "洗碗机",
        "rice_cooker": "电饭煲",
    }


@pytest.mark.parametrize(("code", "category", "covered"), COVERAGE)
def test_appliance_category_coverage(code: str, category: str, covered: bool) -> None:
    decision = evaluate(BY_CODE[code], item("appliance", APPLIANCE_DATE[code], category, "1000.00", 1))
    assert decision.eligible is covered
    assert clause(decision, "category.allowed").passed is covered
    if covered:
        assert decision.amount == (D("150.00") if code == "appliance-2026" else D("200.00"))
    else:
        assert (
            decision.amount == D("0.00")
            and "不在本版本补贴范围" in clause(decision, "category.allowed").explanation_zh
        )


APPLIANCE_AMOUNTS = [
    # 2024 and 2025: 20 % for grade 1, 15 % for grade 2, cap 2,000 per item
    *[
        (code, grade, price, amount)
        for code in ("appliance-2024", "appliance-2025")
        for grade, price, amount in [
            (1, "1000.00", "200.00"),
            (1, "10000.00", "2000.00"),  # exactly at the cap
            (1, "10000.01", "2000.00"),  # one fen above: capped
            (1, "9999.97", "1999.99"),
            (1, "9999.98", "2000.00"),  # 1,999.996 half-up
            (2, "1000.00", "150.00"),
            (2, "13333.33", "2000.00"),  # 1,999.9995 half-up
            (2, "13333.34", "2000.00"),  # first fen above the cap price: capped
            (2, "13333.30", "2000.00"),  # 1,999.995 half-up
            (2, "13333.29", "1999.99"),
        ]
    ],
    # 2026: grade 1 only, 15 %, cap 1,500
    ("appliance-2026", 1, "1000.00", "150.00"),
    ("appliance-2026", 1, "10000.00", "1500.00"),  # exactly at the cap
    ("appliance-2026", 1, "10000.01", "1500.00"),  # one fen above: capped
    ("appliance-2026", 1, "9999.96", "1499.99"),
    ("appliance-2026", 1, "9999.97", "1500.00"),  # 1,499.9955 half-up
]


@pytest.mark.parametrize(("code", "grade", "price", "amount"), APPLIANCE_AMOUNTS)
def test_appliance_rate_by_energy_grade_capped(code: str, grade: int, price: str, amount: str) -> None:
    decision = decide(item("appliance", APPLIANCE_DATE[code], "television", price, grade))
    assert decision.version_code == code and decision.eligible
    assert decision.amount == D(amount) and str(decision.amount) == amount


@pytest.mark.parametrize(
    ("code", "grade", "allowed"),
    [
        ("appliance-2024", 1, True),
        ("appliance-2024", 2, True),
        ("appliance-2024", 3, False),
        ("appliance-2025", 1, True),
        ("appliance-2025", 2, True),
        ("appliance-2025", 3, False),
        ("appliance-2026", 1, True),
        ("appliance-2026", 2, False),
        ("appliance-2026", 5, False),
    ],
)
def test_energy_grades_allowed(code: str, grade: int, allowed: bool) -> None:
    decision = decide(item("appliance", APPLIANCE_DATE[code], "refrigerator", "3000.00", grade))
    assert decision.eligible is allowed
    if not allowed:
        result = assert_fails_only(decision, "energy_grade.allowed")
        assert f"能效等级 {grade} 级不在允许范围" in result.explanation_zh


def test_missing_energy_grade_fails() -> None:
    assert_fails_only(
        decide(item("appliance", date(2025, 6, 1), "refrigerator", "3000.00")), "energy_grade.allowed"
    )


@pytest.mark.parametrize(
    ("code", "category", "max_count"),
    [
        ("appliance-2024", "air_conditioner", 1),
        ("appliance-2024", "refrigerator", 1),
        ("appliance-2025", "air_conditioner", 3),
        ("appliance-2025", "refrigerator", 1),
        ("appliance-2025", "rice_cooker", 1),
        ("appliance-2026", "air_conditioner", 1),
        ("appliance-2026", "television", 1),
    ],
)
def test_appliance_limits_per_category(code: str, category: str, max_count: int) -> None:
    decision = decide(item("appliance", APPLIANCE_DATE[code], category, "3000.00", 1))
    assert decision.quota is not None
    assert decision.quota.max_count == max_count
    assert decision.quota.period is LimitPeriod.VERSION and decision.quota.period_key == code
    assert (decision.quota.programme, decision.quota.category) == ("appliance", category)


def test_limits_reset_per_version() -> None:
    q2025 = decide(item("appliance", date(2025, 6, 1), "refrigerator", "3000.00", 1)).quota
    q2026 = decide(item("appliance", date(2026, 6, 1), "refrigerator", "3000.00", 1)).quota
    assert q2025 is not None and q2026 is not None and q2025.period_key != q2026.period_key


def test_ineligible_decision_still_names_quota_and_documents() -> None:
    decision = decide(item("appliance", date(2025, 6, 1), "air_conditioner", "3000.00", 3))
    assert not decision.eligible and decision.quota is not None and decision.quota.max_count == 3
    assert "sales_invoice" in {d.code for d in decision.required_documents}


# ---- §2 digital ----

DIGITAL_DATE = {"digital-2025": date(2025, 6, 1), "digital-2026": date(2026, 6, 1)}
DIGITAL_COVERAGE = [
    ("digital-2025", "phone", True),
    ("digital-2025", "tablet", True),
    ("digital-2025", "smartwatch", True),
    ("digital-2025", "smart_glasses", False),
    ("digital-2026", "phone", True),
    ("digital-2026", "tablet", True),
    ("digital-2026", "smartwatch", True),
    ("digital-2026", "smart_glasses", True),
]


@pytest.mark.parametrize(("code", "category", "covered"), DIGITAL_COVERAGE)
def test_digital_category_coverage(code: str, category: str, covered: bool) -> None:
    decision = evaluate(BY_CODE[code], item("digital", DIGITAL_DATE[code], category, "2000.00"))
    assert decision.eligible is covered
    assert decision.amount == (D("300.00") if covered else D("0.00"))


DIGITAL_AMOUNTS = [
    (code, price, amount)
    for code in ("digital-2025", "digital-2026")
    for price, amount in [
        ("1000.00", "150.00"),
        ("3333.33", "500.00"),  # 499.9995 half-up
        ("3333.34", "500.00"),  # first fen above the cap price: capped
        ("3333.30", "500.00"),  # 499.995 half-up
        ("3333.29", "499.99"),
        ("3333.00", "499.95"),
        ("100.30", "15.05"),  # 15.045 half-up (half-even would give 15.04)
        ("6000.00", "500.00"),  # the unit-price ceiling itself is eligible
    ]
]


@pytest.mark.parametrize(("code", "price", "amount"), DIGITAL_AMOUNTS)
def test_digital_fifteen_percent_capped_at_500(code: str, price: str, amount: str) -> None:
    decision = decide(item("digital", DIGITAL_DATE[code], "phone", price))
    assert decision.version_code == code and decision.eligible
    assert decision.amount == D(amount) and str(decision.amount) == amount


@pytest.mark.parametrize("code", ["digital-2025", "digital-2026"])
def test_unit_price_ceiling_6000_passes_and_one_fen_over_fails(code: str) -> None:
    ok = decide(item("digital", DIGITAL_DATE[code], "tablet", "6000.00"))
    assert ok.eligible and clause(ok, "price.unit_ceiling").passed
    bad = decide(item("digital", DIGITAL_DATE[code], "tablet", "6000.01"))
    result = assert_fails_only(bad, "price.unit_ceiling")
    assert result.explanation_zh == "单价 6000.01 元超过上限 6000.00 元"
    assert result.explanation_en == "unit price 6000.01 exceeds the ceiling 6000.00"


def test_digital_limits_and_documents() -> None:
    phone = decide(item("digital", date(2025, 6, 1), "phone", "3000.00"))
    tablet = decide(item("digital", date(2025, 6, 1), "tablet", "3000.00"))
    assert phone.quota is not None and phone.quota.max_count == 1 and phone.quota.period_key == "digital-2025"
    assert "imei" in {d.code for d in phone.required_documents}
    assert "imei" not in {d.code for d in tablet.required_documents}
    assert "product_serial_number" in {d.code for d in tablet.required_documents}


# ---- configurable data, purity ----

CUSTOM = """
code: test-basis
version: 1
programme: car_scrap
title: {zh: 测试, en: test}
effective_from: 2030-01-01
effective_to: 2030-12-31
source: test
categories: [{code: passenger_car, zh: 乘用车, en: passenger car}]
price_basis: %(basis)s
conditions:
  - {clause: new_vehicle.type, allowed: [nev, fuel], source: test}
amount: {kind: percent_of_price_capped, rate_percent: 15, cap: 2000, source: test}
rounding: {places: 2, mode: %(mode)s}
limits: {period: calendar_year, max_per_category: 1, source: test}
documents: []
"""


def custom(basis: str = "invoice_total_incl_tax", mode: str = "half_up") -> RuleVersion:
    return load_rule_file(CUSTOM % {"basis": basis, "mode": mode}, name="custom.yaml")


@pytest.mark.parametrize(
    ("mode", "amount"), [("half_up", "15.05"), ("half_even", "15.04"), ("down", "15.04")]
)
def test_rounding_mode_is_data(mode: str, amount: str) -> None:
    facts = Facts(
        "car_scrap", date(2030, 6, 1), price=D("100.30"), category="passenger_car", new_vehicle_type="nev"
    )
    assert evaluate(custom(mode=mode), facts).amount == D(amount)


def test_price_basis_is_configurable() -> None:
    facts = Facts(
        "car_scrap",
        date(2030, 6, 1),
        price=D("1130.00"),
        price_excl_tax=D("1000.00"),
        category="passenger_car",
        new_vehicle_type="nev",
    )
    assert evaluate(custom(), facts).amount == D("169.50")
    assert evaluate(custom(basis="invoice_amount_excl_tax"), facts).amount == D("150.00")
    missing = evaluate(
        custom(basis="invoice_amount_excl_tax"), dataclasses.replace(facts, price_excl_tax=None)
    )
    assert_fails_only(missing, "price.positive")


def test_facts_of_another_programme_are_refused() -> None:
    with pytest.raises(ValueError, match="car_replace"):
        evaluate(BY_CODE["car_scrap-2025"], car("car_replace-2025"))


def test_decision_carries_the_version_identity() -> None:
    decision = decide(car("car_scrap-2025"))
    version = BY_CODE["car_scrap-2025"]
    assert (decision.version_code, decision.version, decision.version_hash) == (
        "car_scrap-2025",
        1,
        version.content_hash,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.amount = D("1")  # type: ignore[misc]


def test_identical_facts_give_identical_decisions_20000_times() -> None:
    cases = [
        car("car_scrap-2026", price=D("166666.67")),
        car("car_scrap-2025", old_vehicle_first_registration=date(2012, 7, 1), new_vehicle_type="fuel"),
        car(
            "car_replace-2026",
            new_vehicle_type="fuel",
            new_vehicle_displacement_l=D("2.0"),
            price=D("216666.58"),
        ),
        item("appliance", date(2025, 6, 1), "air_conditioner", "13333.30", 2),
        item("appliance", date(2026, 6, 1), "television", "9999.97", 2),
        item("digital", date(2025, 6, 1), "phone", "6000.01"),
        item("digital", date(2026, 6, 1), "smart_glasses", "3333.33"),
        Facts("car_scrap", date(2025, 6, 1), category="passenger_car"),
    ]
    versions = [select_version(VERSIONS, f.programme, f.category or "", f.purchase_date) for f in cases]
    assert all(v is not None for v in versions)
    first = [evaluate(v, f) for v, f in zip(versions, cases, strict=True) if v is not None]
    rounds = 20_000 // len(cases)
    for _ in range(rounds):
        for i, (v, f) in enumerate(zip(versions, cases, strict=True)):
            assert v is not None
            assert evaluate(v, f) == first[i]
    assert len({hash(d) for d in first}) == len(first)
