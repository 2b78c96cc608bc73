"""Intakes, corrections that reverse, transfers and mass balance."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recycling import intake, rollups, stock
from recycling.models import Intake, SiteStock
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from tests.recycling_support import ACTOR, IntakeDraftFactory, build_network

DAY = business_date() - dt.timedelta(days=3)


@pytest.fixture
def network(uow: UnitOfWork, demo: dict[str, int]):
    return build_network(uow, demo)


def take_in(uow: UnitOfWork, network, **fields) -> int:
    draft = IntakeDraftFactory(site_id=fields.pop("site_id", network.drop_off), occurred_on=DAY, **fields)
    return intake.record_intake(uow, actor=ACTOR, acting_org_id=network.org_id, draft=draft)


def move(uow: UnitOfWork, network, units: int, weight: str, *, to: int | None = None, src: int | None = None) -> int:
    return stock.transfer_material(uow, actor=ACTOR, acting_org_id=network.org_id, from_site_id=src or network.drop_off,
                                   to_site_id=to or network.transfer, category="appliance.refrigerator", units=units,
                                   weight_kg=Decimal(weight), occurred_on=DAY)


def test_intake_updates_stock_and_rollups_in_the_same_transaction(uow: UnitOfWork, network) -> None:
    take_in(uow, network, units=3, weight_kg=Decimal("150.250"))
    assert stock.stock_of(uow, site_id=network.drop_off, category="appliance.refrigerator").units == 3
    cell = rollups.stored(uow)[("141102", "appliance.refrigerator", DAY)]
    assert (cell.units, cell.weight_kg, cell.records) == (3, Decimal("150.250"), 1)


def test_a_clerk_cannot_record_for_another_recyclers_site(uow: UnitOfWork, network) -> None:
    with pytest.raises(ValidationFailed) as caught:
        take_in(uow, network, site_id=network.other_drop_off)
    assert caught.value.reason == "site.not_yours"


def test_correction_is_a_new_reversing_record_never_an_edit(uow: UnitOfWork, network) -> None:
    original = take_in(uow, network, units=2, weight_kg=Decimal("100"))
    fixed = intake.correct_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=original,
                                  reason="重量录错", replacement=IntakeDraftFactory(
                                      site_id=network.drop_off, units=2, weight_kg=Decimal("110"), occurred_on=DAY))
    kept = uow.session.get(Intake, original)
    reversal = uow.session.get(Intake, fixed.reversal_id)
    assert (kept.units, kept.weight_kg) == (2, Decimal("100.000"))
    assert (reversal.units, reversal.weight_kg, reversal.reverses_id) == (-2, Decimal("-100.000"), original)
    assert stock.stock_of(uow, site_id=network.drop_off, category="appliance.refrigerator").weight_kg == Decimal("110")
    assert rollups.stored(uow)[("141102", "appliance.refrigerator", DAY)].records == 1
    with pytest.raises(Conflict) as caught:
        intake.reverse_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=original, reason="again")
    assert caught.value.reason == "intake.already_reversed"


def test_transfer_larger_than_stock_is_refused_with_a_clear_reason(uow: UnitOfWork, network) -> None:
    take_in(uow, network, units=2, weight_kg=Decimal("100"))
    with pytest.raises(Conflict) as caught:
        move(uow, network, 3, "90")
    assert caught.value.reason == "stock.insufficient"
    assert "库存不足" in caught.value.message
    move(uow, network, 2, "100")
    assert stock.stock_of(uow, site_id=network.transfer, category="appliance.refrigerator").units == 2
    assert stock.stock_of(uow, site_id=network.drop_off, category="appliance.refrigerator").units == 0


def test_material_cannot_move_down_the_network(uow: UnitOfWork, network) -> None:
    take_in(uow, network, site_id=network.sorting)
    with pytest.raises(ValidationFailed) as caught:
        move(uow, network, 1, "1", src=network.sorting, to=network.drop_off)
    assert caught.value.reason == "transfer.direction"


def test_reversing_an_intake_already_sent_on_is_refused(uow: UnitOfWork, network) -> None:
    first = take_in(uow, network, units=1, weight_kg=Decimal("50"))
    move(uow, network, 1, "50")
    with pytest.raises(Conflict) as caught:
        intake.reverse_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=first, reason="错")
    assert caught.value.reason == "stock.insufficient"


def test_intake_from_another_site_moves_stock_but_is_not_recovery_volume(uow: UnitOfWork, network) -> None:
    take_in(uow, network, source="site", units=4, weight_kg=Decimal("10"))
    assert stock.stock_of(uow, site_id=network.drop_off, category="appliance.refrigerator").units == 4
    assert rollups.stored(uow) == {}


def test_stock_is_always_derivable_from_movements(uow: UnitOfWork, network) -> None:
    take_in(uow, network, units=5, weight_kg=Decimal("250"))
    tv = take_in(uow, network, units=1, weight_kg=Decimal("40"), category="appliance.television")
    move(uow, network, 2, "100")
    move(uow, network, 1, "50", src=network.transfer, to=network.sorting)
    intake.correct_intake(uow, actor=ACTOR, acting_org_id=network.org_id, intake_id=tv, reason="品类错")
    uow.flush()
    assert stock.recount_stock(uow) == stock.stored_stock(uow)
    assert rollups.verify(uow) == []


def test_concurrent_transfers_from_one_site_cannot_overdraw_it(
        postgres: None, committed: sessionmaker[Session], committed_uow: UnitOfWork, cipher: PersonalDataCipher
) -> None:
    from subsidy_app.seed import seed_demo

    network = build_network(committed_uow, seed_demo(committed_uow))
    take_in(committed_uow, network, units=10, weight_kg=Decimal("500"))
    committed_uow.commit()
    barrier = threading.Barrier(12)
    results: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        with UnitOfWork(committed, cipher=cipher) as tx:
            barrier.wait()
            try:
                move(tx, network, 3, "150")
                tx.commit()
                outcome = "moved"
            except Conflict as exc:
                outcome = exc.reason
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("moved") == 3
    assert results.count("stock.insufficient") == 9
    with committed() as session:
        left = session.scalar(select(SiteStock.units).where(SiteStock.site_id == network.drop_off))
        arrived = session.scalar(select(SiteStock.units).where(SiteStock.site_id == network.transfer))
    assert (left, arrived) == (1, 9)
