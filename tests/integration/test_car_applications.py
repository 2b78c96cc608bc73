"""The car path through the services: submission, checks, two-level review, budget, payment and reconciliation."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.applications import checks, payments, review
from subsidy_app.applications.domain import Action, State
from subsidy_app.applications.models import Application, PaymentLine
from subsidy_app.core.errors import Conflict
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from tests.car_fixtures import car_world, resident_id, submit


def _app(uow: UnitOfWork, application_id: int) -> Application:
    uow.session.flush()
    uow.session.expire_all()
    app = uow.session.get(Application, application_id)
    assert app is not None
    return app


def _principal(uow: UnitOfWork, demo: dict[str, int], username: str):
    principal = load_principal(uow, account_id=demo[username])
    assert principal is not None
    return principal


def _failed(uow: UnitOfWork, application_id: int) -> set[str]:
    return {c.code for c in checks.latest_checks(uow, application_id=application_id) if not c.passed}


def test_clean_application_passes_every_check_and_waits_for_review(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    done = submit(uow, world)
    app = _app(uow, done.application_id)
    assert app.state == State.PENDING_REVIEW
    assert _failed(uow, app.id) == set()
    assert app.amount == Decimal("18000.00") and app.version_code == "car_scrap-2026"
    assert not app.needs_second_review


def test_full_path_review_pay_and_reconcile_once(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=app_id, action=Action.APPROVE)
    uow.commit()
    assert _app(uow, app_id).state == State.APPROVED
    finance = _principal(uow, demo, "finance.city")
    batch = payments.create_batch(uow, principal=finance, application_ids=[app_id], declared_count=1,
                                  declared_total=Decimal("18000.00"))
    rows = payments.export_rows(uow, principal=finance, batch_id=batch.id)
    uow.commit()
    assert rows[1][3] == "6222020000000000018"  # finance's bank file carries the clear card number
    number = _app(uow, app_id).number
    result = f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},18000.00,成功,B0001,\n".encode()
    first = payments.import_bank_result(uow, principal=finance, batch_id=batch.id, filename="r.csv", data=result)
    uow.commit()
    again = payments.import_bank_result(uow, principal=finance, batch_id=batch.id, filename="r.csv", data=result)
    uow.commit()
    assert first.paid == [number] and again.already_imported
    assert _app(uow, app_id).state == State.PAID
    assert uow.session.scalar(select(func.count()).select_from(PaymentLine).where(PaymentLine.state == "paid")) == 1


@pytest.mark.parametrize(
    ("world_kwargs", "failing"),
    [
        ({"first_registration": dt.date(2013, 7, 1)}, "rule.old_vehicle.first_registration"),
        ({"invoice_date": dt.date(2023, 12, 31)}, None),  # outside every version: refused at submission
        ({"licence_to": dt.date(2026, 5, 19)}, None),  # licence expired the day before: can't issue at all
    ],
)
def test_ineligible_facts_are_caught_with_a_reason(uow: UnitOfWork, demo: dict[str, int], world_kwargs: dict,
                                                   failing: str | None) -> None:
    from subsidy_app.core.errors import DomainError

    if failing is None:
        with pytest.raises(DomainError) as err:
            world = car_world(uow, demo, **world_kwargs)
            submit(uow, world)
        assert err.value.reason in ("rules.no_version", "certificate.licence_invalid")
        return
    world = car_world(uow, demo, **world_kwargs)
    app_id = submit(uow, world).application_id
    assert failing in _failed(uow, app_id)
    assert _app(uow, app_id).needs_second_review


def test_owner_mismatch_fails_checks_and_needs_a_second_reviewer(uow: UnitOfWork, demo: dict[str, int]) -> None:
    someone_else = resident_id("14110219800101123")
    world = car_world(uow, demo, owner_id=someone_else)  # certificate, registry and invoice name another person
    from subsidy_app.identity import persons

    world.person_id = persons.register_person(uow, actor="t", name="李四", id_number="11010519491231002X")
    uow.commit()
    app_id = submit(uow, world).application_id
    assert {"certificate.names_applicant", "registry.owner_is_applicant", "invoice.buyer_is_applicant"} <= _failed(
        uow, app_id)
    assert _app(uow, app_id).amount == 0  # the rule's same-owner clause fails too
    senior = _principal(uow, demo, "senior.city")
    with pytest.raises(Conflict) as err:
        review.review(uow, principal=senior, application_id=app_id, action=Action.APPROVE)
    assert err.value.reason == "application.no_amount"
    review.review(uow, principal=senior, application_id=app_id, action=Action.REJECT, reason="车主与申请人不符")
    assert _app(uow, app_id).state == State.REJECTED


def test_a_failed_check_needs_two_different_reviewers(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo, deregistered=False)
    app_id = submit(uow, world).application_id
    assert _failed(uow, app_id) == {"registry.deregistered"}
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=app_id,
                  action=Action.APPROVE)
    assert _app(uow, app_id).state == State.PENDING_SECOND_REVIEW
    review.review(uow, principal=_principal(uow, demo, "senior.city"), application_id=app_id,
                  action=Action.APPROVE_SECOND)
    assert _app(uow, app_id).state == State.APPROVED


def test_the_same_person_can_never_do_both_reviews(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo, deregistered=False)
    app_id = submit(uow, world).application_id
    senior = _principal(uow, demo, "senior.city")
    review.review(uow, principal=senior, application_id=app_id, action=Action.APPROVE)
    with pytest.raises(Conflict) as err:
        review.review(uow, principal=senior, application_id=app_id, action=Action.APPROVE_SECOND)
    assert "different" in err.value.message


def test_return_needs_a_reason_and_resubmission_reruns_checks(uow: UnitOfWork, demo: dict[str, int]) -> None:
    from subsidy_app.applications import submission

    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    auditor = _principal(uow, demo, "auditor.lishi")
    with pytest.raises(Conflict):
        review.review(uow, principal=auditor, application_id=app_id, action=Action.RETURN, reason=" ")
    review.review(uow, principal=auditor, application_id=app_id, action=Action.RETURN, reason="发票照片不清晰")
    uow.commit()
    submission.resubmit(uow, application_id=app_id, person_id=world.person_id, actor="person")
    uow.commit()
    assert _app(uow, app_id).state == State.PENDING_REVIEW


def test_auditor_of_another_county_cannot_review(uow: UnitOfWork, demo: dict[str, int]) -> None:
    from subsidy_app.core.errors import NotFound

    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    with pytest.raises(NotFound):
        review.review(uow, principal=_principal(uow, demo, "auditor.xiaoyi"), application_id=app_id,
                      action=Action.APPROVE)


def test_rejection_releases_quota_and_certificate(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=app_id,
                  action=Action.REJECT, reason="材料不全")
    uow.commit()
    again = submit(uow, world)  # same certificate and new car may be used by a fresh application
    assert _app(uow, again.application_id).state == State.PENDING_REVIEW


def test_failed_payment_asks_for_a_new_card_then_pays_in_a_later_batch(uow: UnitOfWork, demo: dict[str, int]
                                                                       ) -> None:
    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=app_id, action=Action.APPROVE)
    finance = _principal(uow, demo, "finance.city")
    batch = payments.create_batch(uow, principal=finance, application_ids=[app_id], declared_count=1,
                                  declared_total=Decimal("18000.00"))
    payments.export_rows(uow, principal=finance, batch_id=batch.id)
    number = _app(uow, app_id).number
    report = payments.import_bank_result(uow, principal=finance, batch_id=batch.id, filename="r.csv", data=(
        f"序号,申请编号,金额,结果,银行流水号,说明\n1,{number},18000.00,失败,,户名不符\n"
        f"2,QC-UNKNOWN,5.00,成功,B9,\n1,{number},18000.00,成功,B1,\n").encode())
    assert (report.failed, report.unknown, report.duplicate) == ([number], ["QC-UNKNOWN"], [number])
    app = _app(uow, app_id)
    assert app.state == State.APPROVED and app.card_correction_needed
    with pytest.raises(Exception):  # noqa: B017 - not payable until the card is corrected
        payments.create_batch(uow, principal=finance, application_ids=[app_id], declared_count=1,
                              declared_total=Decimal("18000.00"))
    uow.rollback()


def test_control_totals_must_match(uow: UnitOfWork, demo: dict[str, int]) -> None:
    from subsidy_app.core.errors import ValidationFailed

    world = car_world(uow, demo)
    app_id = submit(uow, world).application_id
    review.review(uow, principal=_principal(uow, demo, "auditor.lishi"), application_id=app_id, action=Action.APPROVE)
    with pytest.raises(ValidationFailed) as err:
        payments.create_batch(uow, principal=_principal(uow, demo, "finance.city"), application_ids=[app_id],
                              declared_count=1, declared_total=Decimal("17999.99"))
    assert err.value.reason == "batch.control_totals"


def test_hundred_concurrent_submissions_naming_one_certificate(
    postgres: None, committed: sessionmaker[Session], cipher: PersonalDataCipher
) -> None:
    from subsidy_app.applications import sales
    from subsidy_app.identity import persons
    from subsidy_app.seed import seed_demo
    from tests.car_fixtures import bank_card, vin

    with UnitOfWork(committed, None, cipher) as uow:
        demo = seed_demo(uow)
        world = car_world(uow, demo)
        dealer = _principal(uow, demo, "dealer.car")
        claimants = []
        for i in range(100):  # a hundred buyers of a hundred new cars, all naming the one certificate
            id_number = resident_id(f"1411021980{i // 28 + 1:02d}{i % 28 + 1:02d}{i:03d}")
            sale = sales.register_car_sale(
                uow, principal=dealer, new_vin=vin(1000 + i), invoice_number=f"26140000000{1000 + i:09d}",
                invoice_code=None, invoice_date=dt.date(2026, 6, 1), invoice_total=Decimal("150000.00"),
                price_excl_tax=None, new_vehicle_type="nev", nev_catalogue_ref="2026-第3批", displacement_l=None,
                buyer_name="王五", buyer_id_number=id_number)
            person = persons.register_person(uow, actor="t", name="王五", id_number=id_number)
            claimants.append((sale, person, bank_card(100 + i)))
        uow.commit()
    barrier = threading.Barrier(25)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(sale, person: int, card: str) -> None:
        claim = type(world)(**{**world.__dict__, "sale": sale, "person_id": person})
        with UnitOfWork(committed, None, cipher) as uow:
            barrier.wait()
            try:
                submit(uow, claim, card=card)
                result = "ok"
            except Conflict as exc:
                result = exc.reason
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=c) for c in claimants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert outcomes.count("certificate.already_used") == 99
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 1


def test_a_card_another_resident_registered_fails_its_check_for_the_reviewer(uow: UnitOfWork,
                                                                             demo: dict[str, int]) -> None:
    first = submit(uow, car_world(uow, demo), card="6222020000000000018").application_id
    assert "bank_card.own" not in _failed(uow, first)
    other = car_world(uow, demo, serial=2, owner_id=resident_id("14110219800101002"))
    second = submit(uow, other, card="6222020000000000018").application_id  # another resident, the same card
    assert "bank_card.own" in _failed(uow, second)
    check = next(c for c in checks.latest_checks(uow, application_id=second) if c.code == "bank_card.own")
    assert "另有 1 人登记使用" in check.explanation_zh
