"""Appeals under real concurrent connections (PostgreSQL): a double-tapped appeal reopens once; an appeal racing a
new claim of the released sale leaves exactly one of them holding it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from subsidy_app.appliances import claims
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications import review
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import Application, ApplicationEvent
from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity import services as identity
from subsidy_app.oversight import complaint_services as cases
from subsidy_app.oversight.complaint_domain import WorkingCalendar
from subsidy_app.oversight.complaint_models import ComplaintCase
from subsidy_app.rules.services import VersionCache
from tests.appliance_fixtures import FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import resident_id
from tests.helpers import bearer

CARD = "6222020000000000018"
TERMS = cases.Terms(15, WorkingCalendar(), 60)


def _refused_claim(committed_app, committed, cipher) -> tuple[int, str, int, int, int]:
    """A claim refused by the Lishi auditor: (application id, status code, person, sale id, another person)."""
    from subsidy_app.seed import seed_demo

    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as setup:
        demo = seed_demo(setup)
        world = appliance_world(setup, demo)
        person, other = (persons.register_person(setup, actor="t", name=f"申请人{i}", phone=f"1391234030{i}",
                                                 id_number=resident_id(f"1411021980010130{i}")) for i in (1, 2))
        setup.commit()
    status, body = sell(committed_app.test_client(), bearer(committed_app.test_client(), "dealer.appliance"),
                        sale_body(world.store_id, None, FRIDGE, "4599.00", "2026-03-01", mode="claim",
                                  delivery_address="离石区竞态路 1 号"))
    assert status == 200, body
    with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as tx:
        code = str(tx.session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == body["sale_id"])))
        done = claims.claim(tx, apply_code=code, person_id=person, versions=VersionCache().versions(tx),
                            data=claims.ClaimInput(CARD, "工行", True), limits=FraudThresholds(),
                            actor=f"person:{person}")
        tx.commit()
        principal = identity.load_principal(tx, account_id=demo["auditor.lishi"])
        assert principal is not None
        review.review(tx, principal=principal, application_id=done.application_id, action=Action.REJECT,
                      reason="发票不符")
        tx.commit()
    return done.application_id, done.status_code, person, int(body["sale_id"]), other


def _together(committed, cipher, attempts: list[Callable[[UnitOfWork], object]]) -> list[str]:
    outcomes: list[str] = []
    barrier = threading.Barrier(len(attempts))

    def run(attempt: Callable[[UnitOfWork], object], index: int) -> None:
        with UnitOfWork(committed, InProcessDispatcher(committed, cipher), cipher) as tx:
            barrier.wait()
            try:
                attempt(tx)
                tx.commit()
                outcomes.append(f"{index}:ok")
            except Exception as exc:  # the reason is what the test checks
                outcomes.append(f"{index}:{getattr(exc, 'reason', repr(exc))}")

    threads = [threading.Thread(target=run, args=(a, i)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_double_tapped_appeal_files_one_case_and_reopens_once(postgres, committed_app, committed, cipher) -> None:
    app_id, status_code, person, _sale, _other = _refused_claim(committed_app, committed, cipher)

    def appeal(tx: UnitOfWork) -> object:
        return cases.file_from_status(tx, status_code=status_code, person_id=person, kind="appeal",
                                      category="refused_wrongly", text="请复核", contact_ok=True, terms=TERMS)

    outcomes = _together(committed, cipher, [appeal] * 6)
    reasons = sorted(o.split(":", 1)[1] for o in outcomes)
    assert reasons.count("ok") == 1 and set(reasons) == {"ok", "appeal.already_open"}, outcomes
    with committed() as session:
        assert session.scalar(select(func.count()).select_from(ComplaintCase)) == 1
        assert session.scalar(select(func.count()).select_from(ApplicationEvent).where(
            ApplicationEvent.application_id == app_id, ApplicationEvent.action == "reopen")) == 1
        assert session.get(Application, app_id).state == "pending_second_review"


def test_an_appeal_racing_a_new_claim_of_the_sale_leaves_one_holder(postgres, committed_app, committed, cipher) -> None:
    app_id, status_code, person, sale_id, other = _refused_claim(committed_app, committed, cipher)
    with committed() as session:
        code = str(session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == sale_id)))

    def appeal(tx: UnitOfWork) -> object:
        return cases.file_from_status(tx, status_code=status_code, person_id=person, kind="appeal",
                                      category="refused_wrongly", text="请复核", contact_ok=True, terms=TERMS)

    def claim(tx: UnitOfWork) -> object:
        return claims.claim(tx, apply_code=code, person_id=other, versions=VersionCache().versions(tx),
                            data=claims.ClaimInput(CARD, "工行", True), limits=FraudThresholds(),
                            actor=f"person:{other}")

    outcomes = _together(committed, cipher, [appeal, claim])
    with committed() as session:
        live = list(session.scalars(select(Application.id).where(
            Application.appliance_sale_id == sale_id,
            Application.state.not_in(["rejected", "withdrawn", "revoked"]))))
        assert len(live) == 1, outcomes
        assert session.get(ApplianceSale, sale_id).state == "claimed"
        if live == [app_id]:  # the appeal won: the new claim was refused
            assert "1:sale.already_claimed" in outcomes, outcomes
        else:  # the claim won: the appeal either was refused whole or was answered why it cannot reopen
            case = session.scalar(select(ComplaintCase))
            assert "0:sale.already_claimed" in outcomes or (case is not None and case.outcome == "not_reopened")
            assert session.get(Application, app_id).state == "rejected"
