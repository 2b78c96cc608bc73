"""Read models: the review queue, one application's detail, and what the resident's status page shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from recycling import certificates
from subsidy_app.applications import check_text
from subsidy_app.applications.checks import latest_checks
from subsidy_app.applications.domain import (
    ACTIVE_STATES,
    STATE_LABELS_ZH,
    State,
    resident_sees_check,
    resident_sees_reason,
)
from subsidy_app.applications.models import Application, ApplicationEvent, CarSale
from subsidy_app.applications.services import kind_of, payee_of
from subsidy_app.applications.visibility import may_see_application
from subsidy_app.core.errors import NotFound
from subsidy_app.core.numbers import money_str
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.documents.services import list_documents
from subsidy_app.identity import organisations
from subsidy_app.identity import services as identity
from subsidy_app.identity.domain import OrgKind, Principal
from subsidy_app.vehicles import services as vehicles


def _scoped(principal: Principal, app: Application | None) -> Application:
    if app is None or not may_see_application(principal, app):
        raise NotFound("申请不存在或不在您的管辖范围 / not found or outside your scope", reason="not_found")
    return app


def review_queue(uow: UnitOfWork, *, principal: Principal, state: State | None, programme: str | None,
                 limit: int) -> list[dict[str, Any]]:
    """List applications in the caller's counties, oldest first."""
    query = select(Application).order_by(Application.submitted_at, Application.id).limit(limit)
    if principal.organisation_kind is OrgKind.DEALER:
        query = query.where(Application.dealer_org_id == principal.organisation_id)
    elif not principal.all_counties:
        query = query.where(Application.county_code.in_(principal.counties))
    if state is not None:
        query = query.where(Application.state == state.value)
    if programme:
        query = query.where(Application.programme == programme)
    return [_summary(app) for app in uow.session.scalars(query)]


def category_page(uow: UnitOfWork, *, principal: Principal, category: str, state: State | None,
                  dealer_org_id: int | None = None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of a category's applications in the caller's counties, newest first, with the number in all."""
    query = select(Application).where(Application.category == category)
    if principal.organisation_kind is OrgKind.DEALER:
        query = query.where(Application.dealer_org_id == principal.organisation_id)
    elif not principal.all_counties:
        query = query.where(Application.county_code.in_(principal.counties))
    if state is not None:
        query = query.where(Application.state == state.value)
    if dealer_org_id is not None:
        query = query.where(Application.dealer_org_id == dealer_org_id)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(query.order_by(Application.submitted_at.desc(), Application.id.desc())
                               .limit(limit).offset(offset))
    return [{**_summary(app), "dealer_org_id": app.dealer_org_id, "facts": app.facts} for app in rows], int(total)


def approval_times(uow: UnitOfWork, *, application_ids: list[int]) -> dict[int, dt.datetime]:
    """When each application last became approved (its review, or funds arriving for one awaiting them)."""
    if not application_ids:
        return {}
    rows = uow.session.execute(
        select(ApplicationEvent.application_id, func.max(ApplicationEvent.at))
        .where(ApplicationEvent.application_id.in_(application_ids), ApplicationEvent.to_state == State.APPROVED.value)
        .group_by(ApplicationEvent.application_id))
    return {app_id: at for app_id, at in rows}


def _summary(app: Application) -> dict[str, Any]:
    return {"id": app.id, "number": app.number, "programme": app.programme, "state": app.state,
            "state_label": STATE_LABELS_ZH[State(app.state)], "county_code": app.county_code, "amount": app.amount,
            "version_code": app.version_code, "new_vin": app.new_vin, "old_vin": app.old_vin,
            "needs_second_review": app.needs_second_review, "first_reviewer_id": app.first_reviewer_id,
            "last_reason": app.last_reason, "card_correction_needed": app.card_correction_needed,
            "submitted_at": app.submitted_at}


def application_detail(uow: UnitOfWork, *, principal: Principal, application_id: int) -> dict[str, Any]:
    """Everything a reviewer needs: checks, history, documents, the applicant (clear only to reviewers)."""
    app = _scoped(principal, uow.session.get(Application, application_id))
    payee = payee_of(app).detail(uow, app, principal)  # the resident and their card, or e.g. a dealer's account
    events = uow.session.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
                                 .order_by(ApplicationEvent.id))
    kind = kind_of(app)
    return {
        **_summary(app), **payee, **_links(uow, app), "subject": kind.subject(uow, app) if kind else [],
        "checks": [check_text.for_people({
            "id": c.id, "code": c.code, "passed": c.passed, "explanation_zh": c.explanation_zh,
            "explanation_en": c.explanation_en, "overridden_by": c.overridden_by, "override_reason": c.override_reason,
        }) for c in latest_checks(uow, application_id=app.id)],
        "events": [{"action": e.action, "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor,
                    "reason": e.reason, "at": e.at} for e in events],
        "documents": [{"id": d.id, "kind": d.kind, "content_type": d.content_type, "size": d.size,
                       "sha256": d.sha256} for d in list_documents(uow, owner_ref=f"application:{app.number}")],
    }


def _links(uow: UnitOfWork, app: Application) -> dict[str, Any]:
    """What the reviewer opens from an application: its certificate, the dealer's sale, the registry record, and
    who it is assigned to (with the reviewers of its county it may be given to)."""
    sale = uow.session.get(CarSale, app.sale_id) if app.sale_id is not None else None
    record = vehicles.lookup_many(uow, vins=[app.old_vin]).get(app.old_vin) if app.old_vin else None
    reviewers = identity.reviewers_of(uow, county_code=app.county_code)
    held_by = [app.assigned_to] if app.assigned_to is not None and app.assigned_to not in reviewers else []
    names = {**reviewers, **identity.account_names(uow, held_by)}  # one who left the county still shows
    return {
        "certificate_id": app.certificate_id, "assigned_to": app.assigned_to,
        "assignee": names.get(app.assigned_to, "") if app.assigned_to is not None else "", "reviewers": reviewers,
        "sale": None if sale is None else [
            ("经销商", organisations.organisation_name(uow, sale.dealer_org_id) or "—"),
            ("新车车架号", sale.new_vin), ("发票号码", sale.invoice_key), ("开票日期", sale.invoice_date.isoformat()),
            ("价税合计", f"{money_str(sale.invoice_total)} 元"),
            ("购车人", f"{sale.buyer_name_masked}({sale.buyer_id_masked})"),
        ],
        "registry": None if record is None else [
            ("车架号", record.vin), ("号牌", record.plate or "—"), ("车辆类型", record.vehicle_type or "—"),
            ("初次登记日期", record.first_registration.isoformat()), ("登记所有人", record.owner_id_masked),
            ("登记日期", record.owner_since.isoformat()),
            ("注销", f"{record.deregistered_on.isoformat()}(注销证明 {record.deregistration_certificate or '—'})"
             if record.deregistered_on else "未注销"),
            ("转出", record.transferred_out_on.isoformat() if record.transferred_out_on else "未转出"),
        ],
    }


def application_by_status_code(uow: UnitOfWork, *, status_code: str) -> Application:
    """Find the application a resident's status QR points to."""
    app = uow.session.scalar(select(Application).where(Application.status_code == status_code))
    if app is None:
        raise NotFound("申请不存在 / application not found", reason="application.not_found")
    return app


def resident_status(uow: UnitOfWork, *, status_code: str) -> dict[str, Any]:
    """What the resident's status page shows: state, why, and what to correct (no personal data)."""
    app = application_by_status_code(uow, status_code=status_code)
    failed = [c for c in latest_checks(uow, application_id=app.id)
              if not c.passed and not c.overridden_by and resident_sees_check(c.code)]
    events = list(uow.session.scalars(select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
                                      .order_by(ApplicationEvent.id)))
    shown = [e.reason if resident_sees_reason(e.action) else None for e in events]
    latest = shown[-1] if shown else None  # the why of where it stands now, if the resident may read it
    return {"id": app.id, "number": app.number, "state": app.state, "state_label": STATE_LABELS_ZH[State(app.state)],
            "amount": app.amount, "programme": app.programme, "reason": latest,
            "returned": app.state == State.RETURNED, "card_correction_needed": app.card_correction_needed,
            "failed_checks": [check_text.detail(c.explanation_zh) for c in failed], "person_id": app.person_id,
            "history": [(e.at, STATE_LABELS_ZH[State(e.to_state)], reason) for e, reason in zip(events, shown,
                                                                                                  strict=True)]}


_LIVE = [s.value for s in ACTIVE_STATES]


def live_claim_of_sale(uow: UnitOfWork, *, appliance_sale_id: int) -> tuple[int, str] | None:
    """Return the person and status code of the live application (not rejected, withdrawn or revoked) claiming an
    appliance sale, or None; a partial unique index keeps it to one."""
    row = uow.session.execute(select(Application.person_id, Application.status_code).where(
        Application.appliance_sale_id == appliance_sale_id, Application.state.in_(_LIVE))).first()
    return (row[0], row[1]) if row is not None else None


def live_claim_code(uow: UnitOfWork, *, appliance_sale_id: int, person_id: int) -> str | None:
    """Return the status code of this person's live application for an appliance sale (a repeated submit finds it)."""
    return uow.session.scalar(select(Application.status_code).where(
        Application.appliance_sale_id == appliance_sale_id, Application.person_id == person_id,
        Application.state.in_(_LIVE)))


def ids_in_states(states: Iterable[State]) -> Select[int]:
    """Return the query of the ids of applications in these states, for a caller's `IN` filter."""
    return select(Application.id).where(Application.state.in_([s.value for s in states]))


@dataclass(frozen=True)
class ApplicationHead:
    """An application as the package that opened it reads it back: number, payee, state, amount and its facts."""

    id: int
    number: str
    payee_kind: str
    state: str
    amount: Decimal
    facts: dict[str, Any]
    last_reason: str | None = None  # the reason of its latest return, rejection or revocation


def visible_application(uow: UnitOfWork, *, principal: Principal, application_id: int) -> ApplicationHead | None:
    """Return an application the caller may see, or None."""
    app = uow.session.get(Application, application_id)
    if app is None or not may_see_application(principal, app):
        return None
    return ApplicationHead(app.id, app.number, app.payee_kind, app.state, app.amount, dict(app.facts),
                           app.last_reason)


@dataclass(frozen=True)
class OwnApplication:
    """A resident's own live application that already holds what she names again."""

    number: str
    status_code: str
    state_label: str
    holds_certificate: bool  # else it holds the new car


def own_live_application(uow: UnitOfWork, *, person_id: int, new_vin: str, certificate_number: str | None = None
                         ) -> OwnApplication | None:
    """Return this person's live application holding the certificate or the new car, if any (else None)."""
    certificate_id = certificates.find_certificate(uow, dismantler_org_id=None, number=certificate_number) \
        if certificate_number else None
    held = Application.new_vin == new_vin
    if certificate_id is not None:
        held = held | (Application.certificate_id == certificate_id)
    found = list(uow.session.scalars(select(Application).where(
        Application.person_id == person_id, Application.state.in_([s.value for s in ACTIVE_STATES]), held)
        .order_by(Application.id)))
    if not found:
        return None
    # The one holding the certificate comes first: that is what the resident typed.
    app = next((a for a in found if certificate_id is not None and a.certificate_id == certificate_id), found[0])
    return OwnApplication(app.number, app.status_code, STATE_LABELS_ZH[State(app.state)],
                          certificate_id is not None and app.certificate_id == certificate_id)


@dataclass(frozen=True)
class CaseSubject:
    """What a complaint or appeal reads of the application it is about."""

    id: int
    number: str
    status_code: str
    person_id: int | None
    county_code: str
    state: str
    refused_at: dt.datetime | None  # the latest rejection, for an appeal's window


def _case_subject(uow: UnitOfWork, app: Application) -> CaseSubject:
    refused_at = uow.session.scalar(select(func.max(ApplicationEvent.at)).where(
        ApplicationEvent.application_id == app.id, ApplicationEvent.action == "reject"))
    return CaseSubject(app.id, app.number, app.status_code, app.person_id, app.county_code, app.state, refused_at)


def case_subject(uow: UnitOfWork, *, status_code: str | None = None, number: str | None = None,
                 application_id: int | None = None) -> CaseSubject | None:
    """Return the application a case names by its status code, number or id (None when there is none)."""
    where = (Application.status_code == status_code if status_code is not None else
             Application.number == number if number is not None else Application.id == application_id)
    app = uow.session.scalar(select(Application).where(where))
    return None if app is None else _case_subject(uow, app)
