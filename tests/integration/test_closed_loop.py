"""The closed loop: hand-in obligations matched by certificate or trade-in ref, overdue flags, closure rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from recycling import closed_loop, intake, issuing, used_cars
from recycling.models import HandInObligation
from subsidy_app.core.clock import business_date
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Notification
from tests.recycling_support import ACTOR, CertificateDraftFactory, IntakeDraftFactory, build_network, make_vin

TODAY = business_date()


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]):
    return build_network(uow, demo)


def oblige(uow: UnitOfWork, demo: dict[str, int], ref: str, *, kind: str = "appliance", days_ago: int = 2,
           category: str = "appliance.refrigerator", certificate_id: int | None = None) -> int:
    return closed_loop.register_hand_in_obligation(
        uow, trade_in_ref=ref, kind=kind, dealer_org_id=demo["org:dealer:appliance"], county_code="141102",
        category=category, occurred_on=TODAY - dt.timedelta(days=days_ago), certificate_id=certificate_id)


def test_a_car_obligation_closes_at_once_when_its_certificate_already_recorded_the_vehicle(
        uow: UnitOfWork, demo: dict[str, int], network) -> None:
    certificate_id = issuing.issue_certificate(uow, actor=ACTOR, dismantler_org_id=network.org_id,
                                               draft=CertificateDraftFactory())
    row = uow.session.get(HandInObligation, oblige(uow, demo, "CAR-1", kind="car", category="vehicle.passenger",
                                                   certificate_id=certificate_id))
    assert row.status == "closed" and row.matched_intake_id is not None


def test_an_intake_naming_the_trade_in_closes_it_and_its_reversal_reopens_it(
        uow: UnitOfWork, demo: dict[str, int], network) -> None:
    obligation = uow.session.get(HandInObligation, oblige(uow, demo, "APP-1"))
    assert obligation.status == "open"
    taken = intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
        site_id=network.drop_off, source="dealer_pickup", trade_in_ref="APP-1", occurred_on=TODAY))
    assert (obligation.status, obligation.matched_intake_id) == ("closed", taken)
    intake.reverse_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=taken, reason="错单")
    assert (obligation.status, obligation.matched_intake_id) == ("open", None)


def test_registering_twice_is_idempotent_and_due_days_are_configurable(uow: UnitOfWork, demo: dict[str, int]) -> None:
    closed_loop.set_hand_in_days(uow, actor=ACTOR, kind="appliance", days=7)
    first = oblige(uow, demo, "APP-2", days_ago=0)
    assert oblige(uow, demo, "APP-2", days_ago=0) == first
    assert uow.session.get(HandInObligation, first).due_on == TODAY + dt.timedelta(days=7)


def test_daily_job_flags_overdue_ones_and_notifies_the_county_bureau(uow: UnitOfWork, demo: dict[str, int]) -> None:
    late = oblige(uow, demo, "APP-OLD", days_ago=30)
    fresh = oblige(uow, demo, "APP-NEW", days_ago=1)
    assert closed_loop.flag_overdue(uow, today=TODAY) == 1
    assert uow.session.get(HandInObligation, late).status == "overdue"
    assert uow.session.get(HandInObligation, fresh).status == "open"
    notes = list(uow.session.scalars(select(Notification).where(Notification.kind == "hand_in.overdue")))
    assert [(n.county_code, n.entity_id) for n in notes] == [("141102", str(late))]
    assert closed_loop.flag_overdue(uow, today=TODAY) == 0


def test_dealer_pickup_to_a_site_closes_the_loop_and_the_closure_report_counts_it(
        uow: UnitOfWork, demo: dict[str, int], network) -> None:
    oblige(uow, demo, "APP-3", days_ago=3)
    oblige(uow, demo, "APP-4", days_ago=40)
    outcome = used_cars.record_dealer_pickup(uow, actor=ACTOR, dealer_org_id=demo["org:dealer:appliance"],
                                             trade_in_ref="APP-3", picked_up_on=TODAY, site_id=network.drop_off,
                                             weight_kg=Decimal("60"))
    assert outcome.status == "closed" and outcome.intake_id is not None
    closed_loop.flag_overdue(uow, today=TODAY)
    [county] = closed_loop.closure_report(uow, by="county")
    assert (county.key, county.total, county.closed, county.overdue) == ("141102", 2, 1, 1)
    assert county.closure_rate == Decimal("50.0")
    [dealer] = closed_loop.closure_report(uow, by="dealer")
    assert dealer.name == "离石区家电城有限公司"


def test_a_used_car_transfer_is_counted_once(uow: UnitOfWork, demo: dict[str, int]) -> None:
    args = {"vin": make_vin(7), "transferred_on": TODAY, "price": Decimal("68000.00"), "county_code": "141181"}
    first = used_cars.register_used_car_transfer(uow, actor=ACTOR, reporter_org_id=demo["org:dealer:car"], **args)
    second = used_cars.register_used_car_transfer(uow, actor=ACTOR, reporter_org_id=demo["org:dealer:xiaoyi"], **args)
    assert first.counted and not second.counted and first.id == second.id
    from recycling.rollups import stored

    assert stored(uow)[("141181", "used_car", TODAY)].units == 1


def test_the_county_tally_follows_every_change_of_standing(uow: UnitOfWork, demo: dict[str, int], network) -> None:
    """Registered, closed, reopened, flagged overdue and closed late: the tally equals a recount after each step."""
    from recycling import hand_in_tally

    def agrees() -> None:
        assert hand_in_tally.stored(uow) == hand_in_tally.recount(uow)

    oblige(uow, demo, "T-1", days_ago=3)
    oblige(uow, demo, "T-2", days_ago=40)
    agrees()
    taken = intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
        site_id=network.drop_off, source="dealer_pickup", trade_in_ref="T-1", occurred_on=TODAY))
    agrees()
    intake.reverse_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=taken, reason="错单")
    agrees()
    closed_loop.flag_overdue(uow, today=TODAY)
    agrees()
    intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
        site_id=network.drop_off, source="dealer_pickup", trade_in_ref="T-2", occurred_on=TODAY))
    agrees()
    standings = {s for (_c, _d, s) in hand_in_tally.stored(uow)}
    assert standings == {"open", "closed_late"}
    [county] = closed_loop.closure_report(uow, by="county")
    assert (county.total, county.closed, county.closed_on_time, county.open) == (2, 1, 0, 1)


def test_the_migration_backfills_the_tally_a_recount_would_give(uow: UnitOfWork, demo: dict[str, int],
                                                                  network) -> None:
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import delete

    from recycling import hand_in_tally
    from recycling.models import HandInTally

    oblige(uow, demo, "B-1", days_ago=3)
    oblige(uow, demo, "B-2", days_ago=40)
    closed_loop.flag_overdue(uow, today=TODAY)
    intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=IntakeDraftFactory(
        site_id=network.drop_off, source="dealer_pickup", trade_in_ref="B-1", occurred_on=TODAY))
    expected = hand_in_tally.recount(uow)
    assert hand_in_tally.stored(uow) == expected
    uow.session.execute(delete(HandInTally))
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0016_hand_in_tally.py"
    spec = importlib.util.spec_from_file_location("hand_in_tally_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(uow.session.connection())):
        migration._backfill()
    assert hand_in_tally.stored(uow) == expected and sum(expected.values()) == 2
