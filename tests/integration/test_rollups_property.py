"""Property: after any sequence of intakes, corrections and transfers, rollups and stock equal a full recount."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recycling import intake, rollups, stock
from recycling.used_cars import register_used_car_transfer
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError
from subsidy_app.core.uow import UnitOfWork
from tests.recycling_support import ACTOR, build_network, make_vin

BASE_DAY = business_date() - dt.timedelta(days=40)
CATEGORIES = ["appliance.refrigerator", "material.steel", "office.printer"]

intake_op = st.tuples(st.just("intake"), st.integers(0, 2), st.sampled_from(CATEGORIES), st.integers(0, 5),
                      st.decimals(min_value=0, max_value=500, places=3), st.integers(0, 35), st.booleans())
correct_op = st.tuples(st.just("correct"), st.integers(0, 50), st.booleans())
transfer_op = st.tuples(st.just("transfer"), st.integers(0, 1), st.sampled_from(CATEGORIES), st.integers(0, 4),
                        st.decimals(min_value=0, max_value=300, places=3))
car_op = st.tuples(st.just("car"), st.integers(0, 5), st.integers(0, 35))
operations = st.lists(st.one_of(intake_op, correct_op, transfer_op, car_op), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_rollups_equal_a_full_recount_after_any_sequence(uow: UnitOfWork, demo: dict[str, int], ops: list) -> None:
    savepoint = uow.session.begin_nested()
    try:
        network = build_network(uow, demo)
        site_ids = [network.drop_off, network.transfer, network.sorting]
        recorded: list[int] = []
        for op in ops:
            try:
                with uow.session.begin_nested():
                    _apply(uow, network, site_ids, recorded, op)
            except DomainError:
                pass  # refused operations (overdraw, bad quantity) must leave no trace
        uow.flush()
        assert rollups.verify(uow) == []
        assert stock.recount_stock(uow) == stock.stored_stock(uow)
        assert all(q.units >= 0 and q.weight_kg >= 0 for q in stock.stored_stock(uow).values())
    finally:
        savepoint.rollback()
        uow.context.clear()


def _apply(uow: UnitOfWork, network, site_ids: list[int], recorded: list[int], op: tuple) -> None:
    kind = op[0]
    if kind == "intake":
        _, site, category, units, weight, day, from_site = op
        recorded.append(intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=intake.IntakeDraft(
            site_id=site_ids[site], source="site" if from_site and units % 2 else "resident", category=category,
            units=units, weight_kg=Decimal(weight), occurred_on=BASE_DAY + dt.timedelta(days=day))))
    elif kind == "correct" and recorded:
        _, index, replace = op
        target = recorded[index % len(recorded)]
        intake.correct_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=target, reason="更正",
                              replacement=intake.IntakeDraft(
                                  site_id=site_ids[0], source="resident", category=CATEGORIES[0], units=1,
                                  weight_kg=Decimal("1.5"), occurred_on=BASE_DAY) if replace else None)
    elif kind == "transfer":
        _, start, category, units, weight = op
        stock.transfer_material(uow, actor=ACTOR, acting_org_id=network.org_id, from_site_id=site_ids[start],
                                to_site_id=site_ids[start + 1], category=category, units=units,
                                weight_kg=Decimal(weight), occurred_on=BASE_DAY)
    elif kind == "car":
        _, vin_seed, day = op
        register_used_car_transfer(uow, actor=ACTOR, reporter_org_id=network.other_org_id, vin=make_vin(vin_seed),
                                   transferred_on=BASE_DAY + dt.timedelta(days=day), price=Decimal("50000.00"),
                                   county_code="141102")
