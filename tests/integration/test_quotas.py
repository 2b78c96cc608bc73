"""Personal quotas: held, confirmed, released; refunds keep the unit; the database enforces the limit."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.errors import Conflict
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.persons import register_person
from subsidy_app.rules import quotas
from subsidy_app.rules.domain import LimitPeriod, QuotaKey

AC_2025 = QuotaKey("appliance", "air_conditioner", LimitPeriod.VERSION, "appliance-2025", 3)
FRIDGE_2025 = QuotaKey("appliance", "refrigerator", LimitPeriod.VERSION, "appliance-2025", 1)


def _person(uow: UnitOfWork) -> int:
    person = register_person(uow, actor="t", name="赵六", id_number="11010519491231002X")
    uow.commit()
    return person


def test_three_air_conditioners_then_exhausted(uow: UnitOfWork) -> None:
    person = _person(uow)
    for i in range(3):
        quotas.hold_quota(uow, person_id=person, key=AC_2025, reference=f"ac-{i}", actor="t")
    with pytest.raises(Conflict) as err:
        quotas.hold_quota(uow, person_id=person, key=AC_2025, reference="ac-3", actor="t")
    assert err.value.reason == "quota.exhausted"
    assert quotas.quota_status(uow, person_id=person, key=AC_2025).remaining == 0


def test_holding_twice_for_the_same_reference_takes_one_unit(uow: UnitOfWork) -> None:
    person = _person(uow)
    quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="app-1", actor="t")
    quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="app-1", actor="t")
    assert quotas.quota_status(uow, person_id=person, key=FRIDGE_2025).used == 1


def test_rejection_releases_the_unit(uow: UnitOfWork) -> None:
    person = _person(uow)
    quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="app-1", actor="t")
    quotas.release_quota(uow, reference="app-1", actor="t")
    quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="app-2", actor="t")
    assert quotas.quota_status(uow, person_id=person, key=FRIDGE_2025).used == 1


def test_refund_does_not_give_the_quota_back(uow: UnitOfWork) -> None:
    person = _person(uow)
    quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="sale-1", actor="t")
    quotas.confirm_quota(uow, reference="sale-1", actor="t")
    quotas.mark_refunded(uow, reference="sale-1", actor="t")
    quotas.release_quota(uow, reference="sale-1", actor="t")  # a later release changes nothing
    with pytest.raises(Conflict):
        quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="sale-2", actor="t")


def test_limits_reset_with_a_new_rule_version(uow: UnitOfWork) -> None:
    person = _person(uow)
    quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference="2025-1", actor="t")
    fridge_2026 = QuotaKey("appliance", "refrigerator", LimitPeriod.VERSION, "appliance-2026", 1)
    quotas.hold_quota(uow, person_id=person, key=fridge_2026, reference="2026-1", actor="t")
    assert quotas.quota_status(uow, person_id=person, key=fridge_2026).used == 1


def test_two_concurrent_holds_for_the_last_unit_one_wins(
    postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher
) -> None:
    with UnitOfWork(committed, None, cipher) as uow:
        person = _person(uow)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take(ref: str) -> None:
        with UnitOfWork(committed, None, cipher) as uow:
            barrier.wait()
            try:
                quotas.hold_quota(uow, person_id=person, key=FRIDGE_2025, reference=ref, actor="t")
                uow.commit()
                outcomes.append("held")
            except Conflict as exc:
                outcomes.append(exc.reason)

    threads = [threading.Thread(target=take, args=(f"race-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["held", "quota.exhausted"]
