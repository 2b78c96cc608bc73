"""Every constraint the database may refuse a write with has a specific meaning; none reaches a user as "integrity"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Integer
from sqlalchemy.exc import IntegrityError

import subsidy_app.metadata  # noqa: F401  (every model, so every registration, is loaded)
from subsidy_app.core import constraints
from subsidy_app.core.db import Base
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import County, Organisation
from subsidy_app.rules.models import BudgetPool


def _natural_keys() -> list[tuple[str, str]]:
    """Primary keys two writers can both choose (not a generated id), so a race can hit them."""
    found = []
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        generated = len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto") \
            and not pk[0].foreign_keys
        if not generated:
            found.append((table.name, str(table.primary_key.name)))
    return found


def test_every_unique_check_and_natural_key_constraint_has_a_registered_meaning() -> None:
    known = constraints.registered()
    missing = [f"{table}.{name}" for table, name in constraints.unique_and_check_constraints() + _natural_keys()
               if name not in known]
    assert missing == [], f"register a reason for: {missing}"
    assert not [name for name, meaning in known.items() if meaning.reason.startswith("conflict.")]


def test_nothing_registered_names_a_constraint_that_does_not_exist() -> None:
    names = {name for _t, name in constraints.unique_and_check_constraints() + _natural_keys()}
    assert set(constraints.registered()) - names == set()


def test_registering_one_name_with_two_meanings_is_refused() -> None:
    with pytest.raises(ValueError):
        constraints.register("uq_scrap_certificate_vin_live", "something.else", "x")


def _refusal(uow: UnitOfWork, row: object) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, uow.session.begin_nested():
        uow.session.add(row)
        uow.session.flush()
    return caught.value


def test_a_unique_violation_maps_to_its_reason_on_either_database(uow: UnitOfWork) -> None:
    uow.session.add(County(code="999001", name="测试县"))
    uow.session.flush()
    error = constraints.error_for(_refusal(uow, County(code="999002", name="测试县")))
    assert isinstance(error, Conflict) and error.reason == "county.name_exists"
    error = constraints.error_for(_refusal(uow, County(code="999001", name="另一县")))
    assert error.reason == "county.exists"


def test_a_check_violation_maps_to_its_reason_and_a_foreign_key_names_its_field(
        uow: UnitOfWork, demo: dict[str, int]) -> None:
    pool = BudgetPool(programme="x", county_code="141102", name="p", allocated=Decimal(10), reserved=Decimal(20))
    assert constraints.error_for(_refusal(uow, pool)).reason == "budget.exhausted"
    nowhere = Organisation(kind="dealer", name="x", credit_code="91140000MA0000000X", county_code="000000")
    error = constraints.error_for(_refusal(uow, nowhere))
    assert isinstance(error, ValidationFailed) and error.reason.endswith("not_found")


def test_an_unregistered_constraint_still_gets_a_specific_reason() -> None:
    class Diag:
        constraint_name = "uq_made_up"
        column_name = None

    class Orig(Exception):
        diag = Diag()

    error = constraints.error_for(IntegrityError("INSERT", {}, Orig("duplicate key")))
    assert error.reason == "conflict.uq_made_up"
