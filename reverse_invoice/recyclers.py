"""Recycler eligibility: qualification, VAT method, location class, and suspension for unpaid filings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select

from reverse_invoice.domain import ALLOWED_INVOICE_TYPES, InvoiceType, LocationClass, Qualification, VatMethod
from reverse_invoice.models import Filing, RecyclerProfile
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal, Role
from subsidy_app.identity.organisations import get_organisation

APPROVER_ROLES = frozenset({Role.ADMIN, Role.SENIOR_AUDITOR})
READER_ROLES = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.FINANCE_OFFICER})


@dataclass(frozen=True)
class RecyclerStanding:
    """What a recycler may do today."""

    organisation_id: int
    name: str
    county_code: str
    qualification: Qualification
    qualification_no: str
    qualification_state: str
    vat_method: VatMethod
    location_class: LocationClass
    status: str
    overdue_filing_months: tuple[dt.date, ...]

    @property
    def may_issue(self) -> bool:
        """Tell whether the recycler may reverse-invoice now."""
        return self.qualification_state == "approved" and not self.overdue_filing_months


def check_recycler_scope(principal: Principal, *, recycler_id: int, county_code: str, write: bool = False) -> None:
    """Let a recycler's clerks act for their own organisation, and bureau roles read within their counties."""
    if Role.RECYCLER_CLERK in principal.roles and principal.organisation_id == recycler_id:
        return
    if not write and principal.has_any(READER_ROLES) and principal.organisation_kind not in (
            OrgKind.DEALER, OrgKind.RECYCLER) and principal.covers_county(county_code):
        return
    raise NotFound("不存在或不在您的权限范围内 / not found or outside your scope", reason="not_found")


def get_profile(uow: UnitOfWork, recycler_id: int, *, lock: bool = False) -> RecyclerProfile:
    """Return a recycler's profile row or raise NotFound."""
    profile = uow.session.get(RecyclerProfile, recycler_id, with_for_update=lock or None, populate_existing=lock)
    if profile is None:
        raise NotFound("该回收企业未登记反向开票资格 / recycler has no reverse-invoicing profile",
                       reason="recycler.not_registered")
    return profile


def register_profile(
    uow: UnitOfWork, *, principal: Principal, recycler_id: int, qualification: Qualification, qualification_no: str,
    vat_method: VatMethod, location_class: LocationClass,
) -> RecyclerStanding:
    """Record (or update) a recycler's qualification, VAT method and location class; a change needs re-approval."""
    org = get_organisation(uow, recycler_id, kind=OrgKind.RECYCLER)
    if org is None:
        raise NotFound("回收企业不存在 / recycler not found", reason="recycler.not_found")
    # An admin registers any recycler of their counties; a clerk only their own.
    is_admin = Role.ADMIN in principal.roles and principal.covers_county(org.county_code)
    if not is_admin:
        check_recycler_scope(principal, recycler_id=recycler_id, county_code=org.county_code, write=True)
    number = qualification_no.strip()
    if not 4 <= len(number) <= 60:
        raise ValidationFailed.field("qualification_no", "资格证书编号应为 4–60 个字符 / 4–60 characters")
    profile = uow.session.get(RecyclerProfile, recycler_id, with_for_update=True)
    before = None
    if profile is None:
        profile = RecyclerProfile(organisation_id=recycler_id, name=org.name, county_code=org.county_code,
                                  status="active", qualification_state="pending")
        uow.session.add(profile)
    else:
        before = {"qualification": profile.qualification, "no": profile.qualification_no,
                  "vat_method": profile.vat_method, "location_class": profile.location_class}
        if (profile.qualification, profile.qualification_no) != (qualification.value, number):
            profile.qualification_state = "pending"
    profile.qualification, profile.qualification_no = qualification.value, number
    profile.vat_method, profile.location_class = vat_method.value, location_class.value
    uow.flush()
    audit.record(uow, actor=principal.actor, action="reverse_invoice.recycler_registered", entity_type="recycler",
                 entity_id=recycler_id, before=before,
                 after={"qualification": qualification.value, "no": number, "vat_method": vat_method.value,
                        "location_class": location_class.value, "state": profile.qualification_state})
    return standing(uow, recycler_id=recycler_id)


def decide_qualification(uow: UnitOfWork, *, principal: Principal, recycler_id: int, approve: bool) -> RecyclerStanding:
    """Approve or revoke a recycler's qualification (senior auditor or admin)."""
    if not principal.has_any(APPROVER_ROLES):
        raise Forbidden("仅复核员或管理员可审批资格 / only a senior auditor or admin may decide",
                        reason="auth.forbidden")
    profile = get_profile(uow, recycler_id, lock=True)
    if not principal.covers_county(profile.county_code):
        raise NotFound("不存在或不在您的权限范围内 / not found or outside your scope", reason="not_found")
    before = profile.qualification_state
    profile.qualification_state = "approved" if approve else "revoked"
    profile.approved_by, profile.approved_at = principal.actor, utcnow()
    audit.record(uow, actor=principal.actor, action="reverse_invoice.qualification_decided", entity_type="recycler",
                 entity_id=recycler_id, before={"state": before}, after={"state": profile.qualification_state})
    return standing(uow, recycler_id=recycler_id)


def overdue_months(uow: UnitOfWork, *, recycler_id: int, today: dt.date) -> tuple[dt.date, ...]:
    """List the months whose filing has tax unpaid past its due date (a nil report has nothing to pay)."""
    rows = uow.session.scalars(
        select(Filing.month).where(Filing.recycler_id == recycler_id, Filing.state != "paid", Filing.due_on < today,
                                   Filing.total_tax > 0)
        .order_by(Filing.month))
    return tuple(rows)


def standing(uow: UnitOfWork, *, recycler_id: int, today: dt.date | None = None) -> RecyclerStanding:
    """Describe a recycler's standing, checking unpaid filings on the fly."""
    profile = get_profile(uow, recycler_id)
    return standing_of(profile, overdue_months(uow, recycler_id=recycler_id, today=today or business_date()))


def standing_of(profile: RecyclerProfile, overdue: tuple[dt.date, ...]) -> RecyclerStanding:
    """Build a recycler's standing from its profile row and its overdue filing months."""
    return RecyclerStanding(
        organisation_id=profile.organisation_id, name=profile.name, county_code=profile.county_code,
        qualification=Qualification(profile.qualification), qualification_no=profile.qualification_no,
        qualification_state=profile.qualification_state, vat_method=VatMethod(profile.vat_method),
        location_class=LocationClass(profile.location_class),
        status="suspended" if overdue or profile.status == "suspended" else "active", overdue_filing_months=overdue,
    )


def has_overdue_filing(recycler_id: Any, today: dt.date) -> ColumnElement[bool]:
    """An SQL test for "some filing is unpaid past its due date" (the condition overdue_months lists)."""
    return (select(Filing.id).where(Filing.recycler_id == recycler_id, Filing.state != "paid", Filing.due_on < today,
                                    Filing.total_tax > 0).exists())


def require_may_issue(uow: UnitOfWork, *, recycler_id: int, invoice_type: InvoiceType, today: dt.date
                      ) -> RecyclerStanding:
    """Refuse unless the recycler is qualified, not suspended, and its VAT method allows the invoice type."""
    return check_may_issue(standing(uow, recycler_id=recycler_id, today=today), invoice_type)


def check_may_issue(current: RecyclerStanding, invoice_type: InvoiceType) -> RecyclerStanding:
    """Refuse unless this standing allows issuing an invoice of the type; return it."""
    if current.qualification_state != "approved":
        raise Conflict("回收企业反向开票资格未获批准 / the recycler's qualification is not approved",
                       reason="recycler.not_qualified")
    if current.status == "suspended":
        months = ", ".join(m.strftime("%Y-%m") for m in current.overdue_filing_months)
        raise Conflict(f"上月代办税费逾期未缴,反向开票已暂停({months})/ reverse invoicing suspended: "
                       "a monthly filing is unpaid past its due date", reason="recycler.suspended")
    if invoice_type not in ALLOWED_INVOICE_TYPES[current.vat_method]:
        raise ValidationFailed.field("invoice_type", "简易计税方法的回收企业只能开具普通发票 / a simplified-method "
                                     "payer may issue ordinary invoices only", reason="recycler.invoice_type")
    return current


def refresh_suspension(uow: UnitOfWork, *, recycler_id: int, today: dt.date, actor: str) -> str:
    """Suspend a recycler with an overdue filing, or lift the suspension once everything due is paid."""
    profile = get_profile(uow, recycler_id, lock=True)
    overdue = overdue_months(uow, recycler_id=recycler_id, today=today)
    wanted = "suspended" if overdue else "active"
    if profile.status != wanted:
        before = profile.status
        profile.status = wanted
        profile.suspended_at = utcnow() if overdue else None
        audit.record(uow, actor=actor, action=f"reverse_invoice.recycler_{'suspended' if overdue else 'reinstated'}",
                     entity_type="recycler", entity_id=recycler_id, before={"status": before},
                     after={"status": wanted, "overdue": [m.isoformat() for m in overdue]})
    return wanted


def check_all_suspensions(uow: UnitOfWork, *, today: dt.date | None = None, actor: str = "system") -> dict[str, int]:
    """Run the daily suspension check over every recycler."""
    day = today or business_date()
    counts = {"suspended": 0, "active": 0}
    for recycler_id in list(uow.session.scalars(select(RecyclerProfile.organisation_id).order_by(
            RecyclerProfile.organisation_id))):
        counts[refresh_suspension(uow, recycler_id=recycler_id, today=day, actor=actor)] += 1
    return counts
