"""Rule files load, validate with the file and field named, refuse overlaps, hash stably and diff by path."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from subsidy_app.core.errors import ValidationFailed
from subsidy_app.rules.domain import Change, FixedByNewVehicleType, OwnerSinceCutoff, PercentOfPriceCapped
from subsidy_app.rules.evaluator import select_version
from subsidy_app.rules.ruleset import (
    DATA_DIR,
    RuleFileInvalid,
    RuleVersion,
    check_no_overlap,
    current_versions,
    diff_versions,
    load_rule_file,
    load_rules_dir,
    parse_rule_mapping,
)

SHIPPED = load_rules_dir()
BY_CODE = {v.code: v for v in SHIPPED}


def raw(code: str) -> dict[str, Any]:
    """Return a shipped file as parsed YAML, to mutate."""
    data = yaml.safe_load((DATA_DIR / f"{code}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def variant(base: str, **changes: Any) -> RuleVersion:
    """Return a shipped version with top-level fields changed (a new code and series unless given)."""
    data = raw(base)
    data.update({"code": f"{base}-variant", "series": f"{base}-variant", **changes})
    return parse_rule_mapping(data, name="variant.yaml")


# ---- the shipped files ----


def test_all_shipped_files_load_without_overlap() -> None:
    assert sorted(BY_CODE) == [
        "appliance-2024",
        "appliance-2025",
        "appliance-2026",
        "car_replace-2024",
        "car_replace-2025",
        "car_replace-2026",
        "car_scrap-2024",
        "car_scrap-2025",
        "car_scrap-2026",
        "digital-2025",
        "digital-2026",
    ]
    assert len(list(DATA_DIR.glob("*.yaml"))) == len(SHIPPED)
    check_no_overlap(SHIPPED)
    assert current_versions(SHIPPED) == SHIPPED


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_each_file_is_one_version_named_after_its_code(code: str) -> None:
    version = load_rule_file(DATA_DIR / f"{code}.yaml")
    assert version.code == code and version.series == code and version.version == 1
    assert version.programme.value == code.split("-")[0]
    assert re.fullmatch(r"[0-9a-f]{64}", version.content_hash)


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_every_number_cites_its_source(code: str) -> None:
    version = BY_CODE[code]
    assert "DOMAIN.md" in version.source
    assert version.amount.meta.source and "DOMAIN.md" in version.amount.meta.source
    assert version.limits.meta.source and "DOMAIN.md" in version.limits.meta.source
    for condition in version.conditions:
        assert condition.meta.source, condition.clause
    assert version.documents, "every version lists its documents"


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_to_dict_is_json_and_round_trips_to_the_same_hash(code: str) -> None:
    version = BY_CODE[code]
    data = json.loads(json.dumps(version.to_dict(), ensure_ascii=False))
    again = parse_rule_mapping(data, name=f"{code}.json")
    assert again.content_hash == version.content_hash
    assert again == version


def test_unconfirmed_and_local_facts_are_flagged_data() -> None:
    scrap_2026 = BY_CODE["car_scrap-2026"]
    cutoff = next(c for c in scrap_2026.conditions if isinstance(c, OwnerSinceCutoff))
    assert cutoff.meta.unconfirmed and not cutoff.active
    assert cutoff not in scrap_2026.active_conditions
    assert scrap_2026.apply_by is None and "apply_by" in scrap_2026.unconfirmed_fields
    replace_2024 = BY_CODE["car_replace-2024"].amount
    assert isinstance(replace_2024, FixedByNewVehicleType)
    assert replace_2024.meta.local and replace_2024.meta.unconfirmed
    assert {k: str(v) for k, v in replace_2024.amounts.items()} == {"nev": "15000.00", "fuel": "13000.00"}
    replace_2025 = BY_CODE["car_replace-2025"].amount
    assert replace_2025.meta.local and replace_2025.meta.unconfirmed
    assert "effective_from" in BY_CODE["appliance-2024"].unconfirmed_fields
    assert BY_CODE["appliance-2024"].effective_from == date(2024, 8, 1)
    assert BY_CODE["car_scrap-2025"].apply_by == date(2026, 1, 10)
    assert BY_CODE["car_scrap-2024"].apply_by == date(2025, 1, 10)


def test_2026_percentages_and_price_basis_are_data() -> None:
    amount = BY_CODE["car_scrap-2026"].amount
    assert isinstance(amount, PercentOfPriceCapped)
    assert {k: str(v) for k, v in amount.rate_percent.items()} == {"nev": "12", "fuel": "10"}
    assert {k: str(v) for k, v in amount.cap.items()} == {"nev": "20000.00", "fuel": "15000.00"}
    assert BY_CODE["car_scrap-2026"].price_basis.value == "invoice_total_incl_tax"


def test_load_rule_file_takes_a_path_a_path_string_or_text() -> None:
    path = DATA_DIR / "digital-2025.yaml"
    by_path = load_rule_file(path)
    assert load_rule_file(str(path)) == by_path
    assert load_rule_file(path.read_text(encoding="utf-8")) == by_path


def test_content_hash_changes_with_any_number() -> None:
    data = raw("digital-2025")
    same = parse_rule_mapping(copy.deepcopy(data), name="same.yaml")
    assert same.content_hash == BY_CODE["digital-2025"].content_hash
    data["amount"]["cap"] = 501
    assert parse_rule_mapping(data, name="changed.yaml").content_hash != same.content_hash


# ---- malformed files name the file and the field ----


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


MALFORMED = [
    ("appliance-2025", _drop(["code"]), "code"),
    ("appliance-2025", _set(["programme"], "boats"), "programme"),
    ("appliance-2025", _set(["effective_from"], "2025-13-01"), "effective_from"),
    ("appliance-2025", _set(["effective_to"], date(2024, 12, 31)), "effective_to"),
    ("appliance-2025", _set(["efective_to"], date(2025, 12, 31)), "efective_to"),
    ("appliance-2025", _set(["version"], 0), "version"),
    ("appliance-2025", _set(["categories", 0, "code"], "Fridge!"), "categories[0].code"),
    ("appliance-2025", _set(["categories", 1, "code"], "refrigerator"), "categories[1].code"),
    ("appliance-2025", _set(["conditions", 0, "clause"], "applicant.rich"), "conditions[0].clause"),
    ("appliance-2025", _drop(["conditions", 0, "source"]), "conditions[applicant.individual].source"),
    ("appliance-2025", _set(["conditions", 1, "grades"], [1, 7]), "conditions[energy_grade.allowed].grades"),
    ("appliance-2025", _set(["conditions", 1, "grades"], [1, 2, 3]), "amount.rate_percent_by_grade.3"),
    ("appliance-2025", _set(["amount", "kind"], "lottery"), "amount.kind"),
    ("appliance-2025", _set(["amount", "cap"], -5), "amount.cap"),
    ("appliance-2025", _set(["amount", "cap"], "2000.005"), "amount.cap"),
    ("appliance-2025", _set(["amount", "rate_percent_by_grade", 1], 120), "amount.rate_percent_by_grade.1"),
    ("appliance-2025", _drop(["amount", "source"]), "amount.source"),
    ("appliance-2025", _set(["rounding", "mode"], "banker"), "rounding.mode"),
    ("appliance-2025", _set(["limits", "period"], "lifetime"), "limits.period"),
    ("appliance-2025", _set(["limits", "overrides", "boat"], 2), "limits.overrides.boat"),
    ("appliance-2025", _set(["limits", "max_per_category"], 0), "limits.max_per_category"),
    ("appliance-2025", _set(["documents", 0, "categories"], ["boat"]), "documents[0].categories[0]"),
    ("appliance-2025", _set(["documents", 1, "code"], "applicant_id"), "documents[1].code"),
    ("appliance-2025", _set(["unconfirmed_fields"], ["amount"]), "unconfirmed_fields[0]"),
    (
        "appliance-2025",
        _set(["conditions", 1], {"clause": "old_vehicle.nev_requires_new_nev", "source": "x"}),
        "conditions[old_vehicle.nev_requires_new_nev].clause",
    ),
    ("digital-2025", _set(["conditions", 1, "max"], "6000.001"), "conditions[price.unit_ceiling].max"),
    ("car_scrap-2025", _set(["categories", 0, "code"], "truck"), "categories[0].code"),
    (
        "car_scrap-2025",
        _set(["conditions", 1, "on_or_before", "coal"], date(2000, 1, 1)),
        "conditions[old_vehicle.first_registration].on_or_before.coal",
    ),
    (
        "car_scrap-2025",
        _set(["conditions", 1, "on_or_before", "petrol"], "soon"),
        "conditions[old_vehicle.first_registration].on_or_before.petrol",
    ),
    ("car_scrap-2025", _set(["conditions", 2, "before"], None), "conditions[old_vehicle.owner_since].before"),
    (
        "car_scrap-2025",
        _set(["conditions", 2, "on_or_before"], date(2025, 1, 7)),
        "conditions[old_vehicle.owner_since].before",
    ),
    (
        "car_scrap-2025",
        _set(["conditions", 4, "allowed"], ["nev", "steam"]),
        "conditions[new_vehicle.type].allowed[1]",
    ),
    ("car_scrap-2025", _drop(["amount", "amounts", "fuel"]), "amount.amounts.fuel"),
    ("car_scrap-2025", _set(["amount", "amounts", "nev"], "lots"), "amount.amounts.nev"),
    ("car_scrap-2026", _set(["amount", "rate_percent", "nev"], 0), "amount.rate_percent.nev"),
    ("car_scrap-2026", _set(["price_basis"], "sticker_price"), "price_basis"),
]


@pytest.mark.parametrize(("code", "mutate", "field"), MALFORMED, ids=[m[2] for m in MALFORMED])
def test_malformed_file_is_refused_naming_file_and_field(
    code: str, mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    data = raw(code)
    mutate(data)
    with pytest.raises(RuleFileInvalid) as caught:
        load_rule_file(yaml.safe_dump(data, allow_unicode=True), name="broken.yaml")
    error = caught.value
    assert isinstance(error, ValidationFailed) and error.status == 422
    assert error.reason == "rules.file_invalid"
    assert (error.file, error.field_path) == ("broken.yaml", field)
    assert str(error).startswith(f"broken.yaml: {field}: ")
    assert error.errors == {field: [error.problem]}


def test_yaml_level_errors_are_refused_too() -> None:
    with pytest.raises(
        RuleFileInvalid, match=r"dup\.yaml: line 3: is not valid YAML: duplicate key 'version'"
    ):
        load_rule_file("code: x\nversion: 1\nversion: 2\n", name="dup.yaml")
    with pytest.raises(RuleFileInvalid, match=r"bad\.yaml: line 2: is not valid YAML"):
        load_rule_file("code: [unclosed\n", name="bad.yaml")
    with pytest.raises(RuleFileInvalid, match=r"^list\.yaml: must be a mapping$"):
        load_rule_file("- 1\n- 2\n", name="list.yaml")
    with pytest.raises(RuleFileInvalid, match=r"^missing\.yaml: cannot be read"):
        load_rule_file(Path("/nonexistent/missing.yaml"))


def test_broken_file_in_a_directory_is_named(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text((DATA_DIR / "digital-2025.yaml").read_text(encoding="utf-8"), "utf-8")
    (tmp_path / "zz-bad.yaml").write_text("code: x\n", "utf-8")
    with pytest.raises(RuleFileInvalid) as caught:
        load_rules_dir(tmp_path)
    assert caught.value.file == "zz-bad.yaml"


# ---- overlapping windows ----


def test_overlapping_window_for_the_same_programme_and_category_is_refused() -> None:
    clash = variant("appliance-2025", effective_from=date(2025, 12, 1), effective_to=date(2026, 1, 31))
    with pytest.raises(ValidationFailed) as caught:
        check_no_overlap([*SHIPPED, clash])
    error = caught.value
    assert error.reason == "rules.window_overlap"
    assert "appliance-2025" in error.message and "appliance-2025-variant" in error.message
    assert "2025-12-01" in error.message and "refrigerator" in error.message


def test_an_open_window_overlaps_every_later_version() -> None:
    later = variant("appliance-2026", effective_from=date(2027, 1, 1), effective_to=date(2027, 12, 31))
    with pytest.raises(ValidationFailed, match="appliance-2026"):
        check_no_overlap([*SHIPPED, later])


def test_overlap_file_in_a_directory_is_refused(tmp_path: Path) -> None:
    for name in ("digital-2025.yaml", "digital-2026.yaml"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), "utf-8")
    data = raw("digital-2025")
    data.update(code="digital-2025-dup", series="digital-2025-dup", effective_from=date(2025, 12, 31))
    (tmp_path / "digital-dup.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(ValidationFailed, match="overlap"):
        load_rules_dir(tmp_path)


def test_no_overlap_when_categories_programmes_or_days_differ() -> None:
    data = raw("appliance-2025")
    data.update(code="local-kitchen", series="local-kitchen")
    data["categories"] = [{"code": "induction_hob", "zh": "电磁炉", "en": "induction hob"}]
    data["limits"].pop("overrides")
    other_category = parse_rule_mapping(data, name="local.yaml")
    adjacent = variant("appliance-2024", effective_from=date(2024, 1, 1), effective_to=date(2024, 7, 31))
    check_no_overlap([*SHIPPED, other_category, adjacent])
    # car_scrap and car_replace share windows: different programmes
    assert BY_CODE["car_scrap-2025"].effective_from == BY_CODE["car_replace-2025"].effective_from


def test_duplicate_codes_and_versions_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="appears twice"):
        check_no_overlap([*SHIPPED, BY_CODE["digital-2025"]])
    twin = variant("digital-2025", code="digital-2025-twin", series="digital-2025")
    with pytest.raises(ValidationFailed, match="version 1 twice"):
        check_no_overlap([*SHIPPED, twin])


def test_a_correction_is_a_new_version_that_supersedes_the_old() -> None:
    correction = variant("car_replace-2025", code="car_replace-2025-v2", series="car_replace-2025", version=2)
    versions = [*SHIPPED, correction]
    check_no_overlap(versions)  # the superseded version no longer competes
    assert BY_CODE["car_replace-2025"] not in current_versions(versions)
    chosen = select_version(versions, "car_replace", "passenger_car", date(2025, 6, 1))
    assert chosen is not None and chosen.code == "car_replace-2025-v2"
    assert BY_CODE["car_replace-2025"].content_hash != correction.content_hash


# ---- diff ----


def test_diff_shows_changed_numbers_by_path() -> None:
    changes = {c.path: c for c in diff_versions(BY_CODE["car_scrap-2025"], BY_CODE["car_scrap-2026"])}
    first_registration = "conditions[old_vehicle.first_registration].on_or_before"
    assert changes[f"{first_registration}.petrol"] == Change(
        f"{first_registration}.petrol", "2012-06-30", "2013-06-30"
    )
    assert changes[f"{first_registration}.nev"] == Change(
        f"{first_registration}.nev", "2018-12-31", "2019-12-31"
    )
    assert changes["amount.kind"] == Change(
        "amount.kind", "fixed_by_new_vehicle_type", "percent_of_price_capped"
    )
    assert changes["amount.amounts.nev"] == Change("amount.amounts.nev", "20000.00", None)
    assert changes["amount.rate_percent.nev"] == Change("amount.rate_percent.nev", None, "12")
    assert changes["amount.cap.fuel"] == Change("amount.cap.fuel", None, "15000.00")
    assert changes["conditions[old_vehicle.owner_since].before"].new is None
    assert changes["apply_by"] == Change("apply_by", "2026-01-10", None)
    assert "conditions[new_vehicle.displacement].fuel_max_l" not in changes
    assert [c.path for c in changes.values()] == sorted(changes)


def test_diff_of_appliance_rounds() -> None:
    changes = {c.path: c for c in diff_versions(BY_CODE["appliance-2025"], BY_CODE["appliance-2026"])}
    assert changes["amount.cap"] == Change("amount.cap", "2000.00", "1500.00")
    assert changes["amount.rate_percent_by_grade.1"] == Change("amount.rate_percent_by_grade.1", "20", "15")
    assert changes["amount.rate_percent_by_grade.2"] == Change("amount.rate_percent_by_grade.2", "15", None)
    assert changes["conditions[energy_grade.allowed].grades"] == Change(
        "conditions[energy_grade.allowed].grades", [1, 2], [1]
    )
    assert changes["limits.overrides.air_conditioner"] == Change("limits.overrides.air_conditioner", 3, None)
    assert changes["categories[microwave].zh"] == Change("categories[microwave].zh", "微波炉", None)


def test_diff_of_a_correction_is_just_the_corrected_number() -> None:
    data = raw("digital-2025")
    data.update(code="digital-2025-v2", version=2)
    data["amount"]["cap"] = 600
    changes = diff_versions(BY_CODE["digital-2025"], parse_rule_mapping(data, name="v2.yaml"))
    assert changes == [
        Change("amount.cap", "500.00", "600.00"),
        Change("code", "digital-2025", "digital-2025-v2"),
        Change("version", 1, 2),
    ]
    assert diff_versions(BY_CODE["digital-2025"], BY_CODE["digital-2025"]) == []


def test_a_correction_that_closes_an_open_window_takes_effect() -> None:
    closed = variant(
        "digital-2026",
        code="digital-2026-v2",
        series="digital-2026",
        version=2,
        effective_to=date(2026, 12, 31),
    )
    versions = [*SHIPPED, closed]
    check_no_overlap(versions)
    assert select_version(versions, "digital", "phone", date(2027, 1, 1)) is None
    assert select_version(SHIPPED, "digital", "phone", date(2027, 1, 1)) == BY_CODE["digital-2026"]
    chosen = select_version(iter(versions), "digital", "phone", date(2026, 12, 31))
    assert chosen is not None and chosen.code == "digital-2026-v2"
