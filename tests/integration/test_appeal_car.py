"""Appeals of refused car applications: the certificate and new car are named again on reopening, and an appeal is
answered why when a fresh application took them meanwhile."""

from __future__ import annotations

from sqlalchemy import select

from subsidy_app.applications import review
from subsidy_app.applications.domain import Action, State
from subsidy_app.applications.models import Application
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.services import load_principal
from subsidy_app.oversight import complaint_services as cases
from subsidy_app.oversight.complaint_domain import WorkingCalendar
from subsidy_app.oversight.complaint_models import ComplaintCase
from subsidy_app.rules.models import QuotaHold
from tests.car_fixtures import car_world, submit

TERMS = cases.Terms(15, WorkingCalendar(), 60)


def _refuse(uow: UnitOfWork, demo: dict[str, int], app_id: int) -> Application:
    principal = load_principal(uow, account_id=demo["auditor.lishi"])
    assert principal is not None
    review.review(uow, principal=principal, application_id=app_id, action=Action.REJECT, reason="材料不全")
    uow.commit()
    found = uow.session.get(Application, app_id)
    assert found is not None
    return found


def _appeal(uow: UnitOfWork, app_row: Application) -> cases.Filed:
    filed = cases.file_from_status(uow, status_code=app_row.status_code, person_id=app_row.person_id, kind="appeal",
                                   category="refused_wrongly", text="材料齐全,请复核", contact_ok=False, terms=TERMS)
    uow.commit()
    return filed


def test_an_upheld_car_appeal_is_approved_by_the_senior_auditor(uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    app_row = _refuse(uow, demo, submit(uow, world).application_id)
    filed = _appeal(uow, app_row)
    assert filed.reopen_refused is None and app_row.state == State.PENDING_SECOND_REVIEW
    assert uow.session.scalar(select(QuotaHold.state).where(QuotaHold.reference == app_row.number)) == "held"
    senior = load_principal(uow, account_id=demo["senior.city"])
    assert senior is not None
    review.review(uow, principal=senior, application_id=app_row.id, action=Action.APPROVE_SECOND)
    uow.commit()
    assert app_row.state in (State.APPROVED, State.AWAITING_FUNDS)
    assert uow.session.get(ComplaintCase, filed.case_id).outcome == "upheld"


def test_a_car_appeal_cannot_reopen_once_a_fresh_application_holds_the_certificate(
        uow: UnitOfWork, demo: dict[str, int]) -> None:
    world = car_world(uow, demo)
    app_row = _refuse(uow, demo, submit(uow, world).application_id)
    fresh = submit(uow, world)  # the resident applied again with the same certificate and new car
    filed = _appeal(uow, app_row)
    assert filed.reopen_refused is not None and "回收证明" in filed.reopen_refused
    assert app_row.state == State.REJECTED
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert (case.state, case.outcome) == ("answered", "not_reopened") and "回收证明" in (case.reply or "")
    assert uow.session.get(Application, fresh.application_id).state == State.PENDING_REVIEW
