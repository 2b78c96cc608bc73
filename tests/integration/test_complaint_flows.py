"""Complaints and appeals on a real database: filing, the appeal's reopening of a refused claim and what it holds,
the refuser kept off the second review, the outcome closing the case, texts queued, overdue flagging, audit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from flask import Flask
from sqlalchemy import func, select

from subsidy_app.appliances import claims
from subsidy_app.appliances.domain import FraudThresholds
from subsidy_app.appliances.models import ApplianceSale
from subsidy_app.applications import review
from subsidy_app.applications.domain import Action
from subsidy_app.applications.models import Application
from subsidy_app.audit import services as audit
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import persons
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import Principal, Role
from subsidy_app.oversight import complaint_services as cases
from subsidy_app.oversight import complaint_tasks
from subsidy_app.oversight.complaint_domain import WorkingCalendar
from subsidy_app.oversight.complaint_models import ComplaintCase, ComplaintStep
from subsidy_app.rules.models import BudgetReservation, QuotaHold
from subsidy_app.rules.services import VersionCache
from tests.appliance_fixtures import FRIDGE, appliance_world, sale_body, sell
from tests.car_fixtures import resident_id
from tests.helpers import bearer

CARD = "6222020000000000018"
TERMS = cases.Terms(working_days=15, calendar=WorkingCalendar(), appeal_window_days=60)
_people = itertools.count(201)
_addresses = itertools.count(1)
RECEIPTS: dict[int, str] = {}  # sale id -> the receipt page's path (what its QR code opens)


@pytest.fixture
def world(uow: UnitOfWork, demo: dict[str, int]):
    return appliance_world(uow, demo)


@pytest.fixture
def till(app: Flask, world) -> dict[str, str]:
    return bearer(app.test_client(), "dealer.appliance")


def _sale(app: Flask, till: dict[str, str], world) -> int:
    status, body = sell(app.test_client(), till, sale_body(world.store_id, None, FRIDGE, "4599.00",
                                                           "2026-03-01", mode="claim",
                                                           delivery_address=f"离石区申诉路 {next(_addresses)} 号"))
    assert status == 200 and body["eligible"], body
    RECEIPTS[int(body["sale_id"])] = "/m/appliance/" + body["receipt_url"].rsplit("/", 1)[1]
    return int(body["sale_id"])


def _person(uow: UnitOfWork) -> int:
    n = next(_people)
    return persons.register_person(uow, actor="t", name="赵六", id_number=resident_id(f"14110219800101{n:03d}"),
                                   phone=f"1391234{n:04d}")


def _claim(uow: UnitOfWork, sale_id: int, person_id: int) -> Application:
    code = str(uow.session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == sale_id)))
    done = claims.claim(uow, apply_code=code, person_id=person_id, versions=VersionCache().versions(uow),
                        data=claims.ClaimInput(CARD, "中国工商银行", True), limits=FraudThresholds(),
                        actor=f"person:{person_id}")
    uow.commit()
    found = uow.session.get(Application, done.application_id)
    assert found is not None
    return found


def _principal(uow: UnitOfWork, account_id: int) -> Principal:
    found = identity.load_principal(uow, account_id=account_id)
    assert found is not None
    return found


def _senior(uow: UnitOfWork, demo: dict[str, int], name: str) -> int:
    account = identity.create_account(uow, actor="t", organisation_id=demo["org:bureau:141102"], username=name,
                                      display_name=f"离石区复核员{name}", password="Passw0rd!x",
                                      roles=[Role.SENIOR_AUDITOR])
    uow.commit()
    return account


def _reject(uow: UnitOfWork, app_row: Application, account_id: int) -> None:
    review.review(uow, principal=_principal(uow, account_id), application_id=app_row.id, action=Action.REJECT,
                  reason="发票与商品不符")
    uow.commit()


def _appeal(uow: UnitOfWork, app_row: Application, person_id: int) -> cases.Filed:
    filed = cases.file_from_status(uow, status_code=app_row.status_code, person_id=person_id, kind="appeal",
                                   category="refused_wrongly", text="发票是真实的,请复核。电话 13912340000",
                                   contact_ok=True, terms=TERMS)
    uow.commit()
    return filed


def _jobs(uow: UnitOfWork, job: str) -> list[OutboxMessage]:
    return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.job == job)
                                    .order_by(OutboxMessage.id)))


def test_a_rejected_claim_gives_its_sale_back_and_another_resident_claims_it(app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    first = _claim(uow, sale_id, _person(uow))
    assert uow.session.get(ApplianceSale, sale_id).state == "claimed"
    assert "已申请过补贴" in app.test_client().get(RECEIPTS[sale_id]).get_data(as_text=True)
    _reject(uow, first, demo["auditor.lishi"])
    uow.session.expire_all()
    assert uow.session.get(ApplianceSale, sale_id).state == "claimable"
    code = str(uow.session.scalar(select(ApplianceSale.apply_code).where(ApplianceSale.id == sale_id)))
    assert claims.receipt(uow, apply_code=code).claimable
    receipt = app.test_client().get(RECEIPTS[sale_id]).get_data(as_text=True)
    assert 'id="identity-form"' in receipt and "已申请过补贴" not in receipt  # the receipt page offers the claim
    second = _claim(uow, sale_id, _person(uow))
    assert second.state == "pending_review" and uow.session.get(ApplianceSale, sale_id).state == "claimed"


def test_a_withdrawn_claim_lets_the_same_resident_claim_the_sale_again(app, uow, world, till) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    first = _claim(uow, sale_id, person_id)
    from subsidy_app.applications import submission

    submission.withdraw(uow, application_id=first.id, person_id=person_id, actor=f"person:{person_id}")
    uow.commit()
    uow.session.expire_all()
    assert uow.session.get(ApplianceSale, sale_id).state == "claimable"
    again = _claim(uow, sale_id, person_id)
    assert again.id != first.id and again.state == "pending_review"


def test_an_appeal_reopens_the_refusal_for_another_senior_auditor_and_takes_back_what_it_held(
        app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    refuser = _senior(uow, demo, "senior.refuser")
    _reject(uow, app_row, refuser)
    assert uow.session.scalar(select(QuotaHold.state).where(QuotaHold.reference == app_row.number)) == "released"
    filed = _appeal(uow, app_row, person_id)
    uow.session.expire_all()
    app_row = uow.session.get(Application, app_row.id)
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert filed.number.startswith("SS2026") and filed.reopen_refused is None
    assert app_row.state == "pending_second_review" and app_row.refused_by == refuser
    assert app_row.assigned_to == demo["senior.city"] and case.assignee_id == demo["senior.city"]
    assert case.state == "in_progress" and case.deadline > dt.date(2026, 1, 1)
    assert uow.session.get(ApplianceSale, sale_id).state == "claimed"
    assert uow.session.scalar(select(QuotaHold.state).where(QuotaHold.reference == app_row.number)) == "held"
    assert uow.session.scalar(select(BudgetReservation.state).where(
        BudgetReservation.reference == app_row.number)) == "reserved"
    assert "13912340000" not in str(case.text_enc)  # the resident's text is sealed
    assert len(_jobs(uow, cases.NOTIFY_JOB)) == 2  # filed, assigned


def test_the_refuser_can_neither_take_nor_decide_the_appeal(app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    refuser = _senior(uow, demo, "senior.refuser2")
    other = _senior(uow, demo, "senior.other")
    _reject(uow, app_row, refuser)
    _appeal(uow, app_row, person_id)
    uow.session.expire_all()
    assert uow.session.get(Application, app_row.id).assigned_to == min(other, demo["senior.city"])
    for action in (Action.APPROVE_SECOND, Action.REJECT):
        with pytest.raises(Conflict) as refused:
            review.review(uow, principal=_principal(uow, refuser), application_id=app_row.id, action=action,
                          reason="仍不通过")
        assert "未参与原审核" in refused.value.message
        uow.rollback()
    assert uow.session.get(Application, app_row.id).state == "pending_second_review"


def test_the_second_review_closes_the_appeal_with_its_outcome_and_texts_the_resident(
        app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    _reject(uow, app_row, demo["auditor.lishi"])
    filed = _appeal(uow, app_row, person_id)
    outcome = review.review(uow, principal=_principal(uow, demo["senior.city"]), application_id=app_row.id,
                            action=Action.APPROVE_SECOND)
    uow.commit()
    assert outcome.to_state.value == "approved"
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert (case.state, case.outcome) == ("closed", "upheld") and "申诉成立" in (case.reply or "")
    steps = list(uow.session.scalars(select(ComplaintStep.action).where(ComplaintStep.case_id == case.id)
                                     .order_by(ComplaintStep.id)))
    assert steps == ["file", "assign", "decide"]
    jobs = _jobs(uow, cases.NOTIFY_JOB)
    assert len(jobs) == 3
    complaint_tasks.case_notify(uow, step_id=int(jobs[-1].payload["step_id"]))
    uow.commit()
    from subsidy_app.messaging.services import list_outbox

    texts = [m.text for m in list_outbox(uow, limit=10) if m.purpose == "complaint.decide"]
    assert texts and case.number in texts[0] and "申诉成立" in texts[0]
    actions = {e.action for e in audit.list_events(uow.session, limit=200)}
    assert {"complaint.file", "complaint.assign", "complaint.decide", "application.reopen", "quota.held"} <= actions
    from subsidy_app.audit.services import seal_all

    seal_all(uow.session)
    uow.commit()
    checked, broken = audit.verify_chain(uow.session)
    assert broken is None and checked > 0


def test_a_dismissed_appeal_rejects_again_and_releases_the_sale(app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    _reject(uow, app_row, demo["auditor.lishi"])
    filed = _appeal(uow, app_row, person_id)
    review.review(uow, principal=_principal(uow, demo["senior.city"]), application_id=app_row.id,
                  action=Action.REJECT, reason="复审仍不符合")
    uow.commit()
    uow.session.expire_all()
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert (case.state, case.outcome) == ("closed", "dismissed") and "复审仍不符合" in (case.reply or "")
    assert uow.session.get(ApplianceSale, sale_id).state == "claimable"


def test_an_appeal_cannot_reopen_when_another_claim_took_the_sale_and_is_answered_why(
        app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    _reject(uow, app_row, demo["auditor.lishi"])
    _claim(uow, sale_id, _person(uow))  # another resident claims the released sale meanwhile
    filed = _appeal(uow, app_row, person_id)
    uow.session.expire_all()
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert filed.reopen_refused is not None and "已申请过补贴" in filed.reopen_refused
    assert (case.state, case.outcome) == ("answered", "not_reopened")
    assert uow.session.get(Application, app_row.id).state == "rejected"


def test_an_appeal_needs_a_refusal_within_the_window_and_one_at_a_time(app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    with pytest.raises(ValidationFailed) as early:
        _appeal(uow, app_row, person_id)
    assert "kind" in early.value.errors
    uow.rollback()
    _reject(uow, app_row, demo["auditor.lishi"])
    late = cases.Terms(15, WorkingCalendar(), appeal_window_days=1)
    from subsidy_app.applications import queries

    subject = queries.case_subject(uow, application_id=app_row.id)
    assert subject is not None and cases.appeal_refusal(subject, terms=late) is None
    assert "申诉期限已过" in (cases.appeal_refusal(
        subject.__class__(**{**subject.__dict__, "refused_at": subject.refused_at - dt.timedelta(days=5)}),
        terms=late) or "")


def test_bad_filing_input_names_every_field(app, uow, world, till) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    with pytest.raises(ValidationFailed) as bad:
        cases.file_from_status(uow, status_code=app_row.status_code, person_id=person_id, kind="complaint",
                               category="nonsense", text="长" * 501, contact_ok=False, terms=TERMS)
    assert set(bad.value.errors) == {"category", "text"}
    assert "500" in " ".join(bad.value.errors["text"])


def test_a_phone_complaint_is_answered_closed_and_every_step_is_in_the_audit_chain(app, uow, world, demo) -> None:
    clerk = _principal(uow, demo["auditor.lishi"])
    filed = cases.file_by_phone(uow, principal=clerk, category="dealer_misconduct", text="门店拒绝回收旧机",
                                application_number=None, county_code="141102", terms=TERMS)
    uow.commit()
    assert filed.number.startswith("TS2026")
    cases.assign(uow, principal=clerk, case_id=filed.case_id, assignee_id=None)
    cases.answer(uow, principal=clerk, case_id=filed.case_id, reply="已约谈门店,三日内上门回收。")
    cases.close(uow, principal=clerk, case_id=filed.case_id)
    uow.commit()
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert case.state == "closed" and case.assignee_id == demo["auditor.lishi"] and case.closed_at is not None
    with pytest.raises(Conflict):
        cases.answer(uow, principal=clerk, case_id=filed.case_id, reply="再答复")
    uow.rollback()
    actions = {e.action for e in audit.list_events(uow.session, limit=50) if e.entity_type == "complaint_case"}
    assert {"complaint.file", "complaint.assign", "complaint.answer", "complaint.close"} <= actions
    from subsidy_app.audit.services import seal_all

    seal_all(uow.session)
    uow.commit()
    checked, broken = audit.verify_chain(uow.session)
    assert broken is None and checked > 0


def test_a_case_of_another_county_is_not_found(app, uow, demo) -> None:
    lishi = _principal(uow, demo["auditor.lishi"])
    filed = cases.file_by_phone(uow, principal=lishi, category="other", text="咨询", application_number=None,
                                county_code="141102", terms=TERMS)
    uow.commit()
    xiaoyi = _principal(uow, demo["auditor.xiaoyi"])
    from subsidy_app.core.errors import NotFound

    with pytest.raises(NotFound):
        cases.answer(uow, principal=xiaoyi, case_id=filed.case_id, reply="越权")
    with pytest.raises(ValidationFailed) as foreign:
        cases.file_by_phone(uow, principal=xiaoyi, category="other", text="咨询", application_number=None,
                            county_code="141102", terms=TERMS)
    assert "county" in foreign.value.errors


def test_the_beat_job_flags_overdue_cases_once_and_texts_nobody(app, uow, demo) -> None:
    clerk = _principal(uow, demo["auditor.lishi"])
    filed = cases.file_by_phone(uow, principal=clerk, category="paid_late", text="还没到账",
                                application_number=None, county_code="141102", terms=TERMS)
    uow.commit()
    case = uow.session.get(ComplaintCase, filed.case_id)
    before = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
    later = case.deadline + dt.timedelta(days=1)
    assert cases.flag_overdue(uow, actor="t", today=case.deadline) == 0
    assert cases.flag_overdue(uow, actor="t", today=later) == 1
    uow.commit()
    assert cases.flag_overdue(uow, actor="t", today=later) == 0
    assert case.overdue and case.overdue_since is not None
    assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == before
    complaint_tasks.flag_overdue_cases(uow)  # the job itself runs (today is before the deadline: nothing new)
    assert uow.session.scalar(select(func.count()).select_from(ComplaintCase).where(
        ComplaintCase.overdue.is_(True))) == 1


def test_with_no_eligible_senior_auditor_the_appeal_waits_for_the_city_bureau(app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    _reject(uow, app_row, demo["senior.city"])  # the only senior auditor covering 离石区 refused it
    filed = _appeal(uow, app_row, person_id)
    uow.session.expire_all()
    assert filed.needs_city and uow.session.get(Application, app_row.id).assigned_to is None
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert case.needs_city and case.assignee_id is None and case.state == "in_progress"


def test_a_phone_complaint_naming_an_application_reaches_its_resident(app, uow, world, till, demo) -> None:
    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    clerk = _principal(uow, demo["auditor.lishi"])
    filed = cases.file_by_phone(uow, principal=clerk, category="paid_late", text="电话反映未到账",
                                application_number=app_row.number.lower(), county_code=None, terms=TERMS)
    uow.commit()
    case = uow.session.get(ComplaintCase, filed.case_id)
    assert (case.application_id, case.person_id, case.channel) == (app_row.id, person_id, "phone")
    assert len(_jobs(uow, cases.NOTIFY_JOB)) == 1
    xiaoyi = _principal(uow, demo["auditor.xiaoyi"])
    with pytest.raises(ValidationFailed) as foreign:
        cases.file_by_phone(uow, principal=xiaoyi, category="paid_late", text="越权", terms=TERMS,
                            application_number=app_row.number, county_code=None)
    assert set(foreign.value.errors) == {"application_number"}


def test_a_reopened_application_cannot_be_assigned_to_its_refuser(app, uow, world, till, demo) -> None:
    from subsidy_app.applications import assignment

    sale_id = _sale(app, till, world)
    person_id = _person(uow)
    app_row = _claim(uow, sale_id, person_id)
    refuser = _senior(uow, demo, "senior.refuser3")
    _reject(uow, app_row, refuser)
    _appeal(uow, app_row, person_id)
    for who, assignee in ((demo["senior.city"], refuser), (refuser, refuser)):  # given to, or taken by, the refuser
        with pytest.raises(ValidationFailed) as refused:
            assignment.assign(uow, principal=_principal(uow, who), application_id=app_row.id, assignee_id=assignee)
        assert refused.value.reason == "assignee.took_part"
        uow.rollback()
    assert uow.session.get(Application, app_row.id).assigned_to == demo["senior.city"]
