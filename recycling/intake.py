"""Intake records: what a site took in, and corrections that reverse a record (never edits)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from recycling import closed_loop
from recycling.domain import CATEGORIES, Domain, IntakeSource, Quantity, check_quantity, counts_for_recovery
from recycling.models import Intake, ScrapCertificate
from recycling.paging import PAGE_SIZE, Page, offset, within
from recycling.rollups import bump
from recycling.site_kinds import SITE_KIND_LABELS, SiteKind, takes
from recycling.sites import get_site
from recycling.stock import add_stock, take_stock
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal


@dataclass(frozen=True)
class IntakeDraft:
    """An intake to record."""

    site_id: int
    source: str
    category: str
    units: int
    weight_kg: Decimal
    occurred_on: dt.date
    certificate_id: int | None = None
    trade_in_ref: str | None = None
    note: str = ""


@dataclass(frozen=True)
class IntakeView:
    """An intake record as callers see it."""

    id: int
    site_id: int
    organisation_id: int
    county_code: str
    source: str
    category: str
    units: int
    weight_kg: Decimal
    occurred_on: dt.date
    certificate_id: int | None
    trade_in_ref: str | None
    reverses_id: int | None
    reversed_by_id: int | None
    note: str
    recorded_by: str

    @property
    def reversible(self) -> bool:
        """Whether a correction may still reverse this record (not a reversal, not reversed already)."""
        return self.reverses_id is None and self.reversed_by_id is None


@dataclass(frozen=True)
class Correction:
    """The reversal written for a correction, and its replacement record if any."""

    reversal_id: int
    replacement_id: int | None


def check_draft(draft: IntakeDraft, *, today: dt.date | None = None) -> None:
    """Validate an intake's own fields (no database); raise ValidationFailed naming the field."""
    try:
        IntakeSource(draft.source)
    except ValueError:
        raise ValidationFailed.field("source", "来源应为 resident/dealer_pickup/institution/site / unknown source",
                                     reason="intake.source") from None
    if not draft.category:
        raise ValidationFailed.field("category", "请选择品类 / choose a category", reason="intake.category")
    if draft.category not in CATEGORIES:
        raise ValidationFailed.field("category", f"未知品类 / unknown category: {draft.category}",
                                     reason="intake.category")
    if not isinstance(draft.units, int) or isinstance(draft.units, bool):
        raise ValidationFailed.field("units", "数量应为整数 / units must be a whole number", reason="intake.units")
    problem = check_quantity(draft.units, draft.weight_kg)
    if problem:
        raise ValidationFailed.field(problem[0], problem[1], reason="intake.quantity")
    if draft.occurred_on > (today or business_date()):  # the clerk's today: a Beijing date
        raise ValidationFailed.field("occurred_on", "日期不能晚于今天 / the date is in the future",
                                     reason="intake.date")
    if draft.certificate_id is not None and CATEGORIES[draft.category][0] != Domain.VEHICLES:
        raise ValidationFailed.field("certificate_id", "回收证明只适用于报废机动车 / a scrap certificate "
                                                       "belongs to a vehicle intake", reason="intake.certificate")


def live_intake_for_certificate(uow: UnitOfWork, certificate_id: int) -> Intake | None:
    """Return the unreversed intake naming a certificate, if any."""
    reversal = aliased(Intake)
    return uow.session.scalar(
        select(Intake).where(Intake.certificate_id == certificate_id, Intake.reverses_id.is_(None))
        .where(~select(reversal.id).where(reversal.reverses_id == Intake.id).exists()))


def record_intake(uow: UnitOfWork, *, actor: str, acting_org_id: int | None, draft: IntakeDraft,
                  import_id: int | None = None) -> int:
    """Record an intake: stock, rollups and closed-loop matching change in this same transaction."""
    check_draft(draft)
    site = get_site(uow, site_id=draft.site_id)
    if acting_org_id is not None and site.organisation_id != acting_org_id:
        raise ValidationFailed.field("site_id", "只能登记本企业网点的回收 / only your own sites",
                                     reason="site.not_yours")
    if not site.active:
        raise ValidationFailed.field("site_id", "网点已停用 / the site is closed", reason="site.inactive")
    if not takes(site.kind, draft.category):
        kind = SITE_KIND_LABELS[SiteKind(site.kind)]
        raise ValidationFailed.field("category", f"{kind}网点不收{CATEGORIES[draft.category][1]} / a {site.kind} "
                                                 f"site does not take in {draft.category}",
                                     reason="intake.category_not_for_site")
    if draft.certificate_id is not None:
        certificate = uow.session.get(ScrapCertificate, draft.certificate_id)
        if certificate is None or certificate.dismantler_org_id != site.organisation_id:
            raise ValidationFailed.field("certificate_id", "回收证明不存在 / certificate not found",
                                         reason="certificate.not_found")
        if live_intake_for_certificate(uow, draft.certificate_id) is not None:
            raise Conflict("该回收证明的车辆已登记回收 / this certificate's vehicle is already recorded",
                           reason="intake.certificate_recorded")
    ref = (draft.trade_in_ref or "").strip() or None
    row = Intake(site_id=site.id, organisation_id=site.organisation_id, county_code=site.county_code,
                 source=draft.source, category=draft.category, units=draft.units, weight_kg=draft.weight_kg,
                 occurred_on=draft.occurred_on, certificate_id=draft.certificate_id, trade_in_ref=ref,
                 import_id=import_id, note=draft.note.strip()[:200], recorded_by=actor)
    uow.session.add(row)
    uow.flush()
    _apply(uow, row, records=1)
    closed_loop.match_intake(uow, actor=actor, intake_id=row.id, certificate_id=row.certificate_id,
                             trade_in_ref=ref, occurred_on=row.occurred_on)
    audit.record(uow, actor=actor, action="recycling.intake_recorded", entity_type="intake_record", entity_id=row.id,
                 after={"site": site.id, "category": row.category, "units": row.units,
                        "weight_kg": str(row.weight_kg), "day": row.occurred_on, "source": row.source})
    return row.id


def _apply(uow: UnitOfWork, row: Intake, *, records: int) -> None:
    quantity = Quantity(row.units, row.weight_kg)
    if row.units >= 0 and row.weight_kg >= 0:
        add_stock(uow, site_id=row.site_id, category=row.category, quantity=quantity)
    else:
        take_stock(uow, site_id=row.site_id, category=row.category, quantity=-quantity)
    if counts_for_recovery(IntakeSource(row.source)):
        bump(uow, county_code=row.county_code, category=row.category, day=row.occurred_on, units=row.units,
             weight_kg=row.weight_kg, records=records)


def reverse_intake(uow: UnitOfWork, *, actor: str, acting_org_id: int | None, intake_id: int, reason: str) -> int:
    """Write a record that reverses an intake (same day, negated quantities); return its id."""
    if not reason.strip():
        raise ValidationFailed.field("reason", "更正须说明原因 / a correction needs a reason")
    original = uow.session.get(Intake, intake_id, with_for_update=True)
    if original is None or (acting_org_id is not None and original.organisation_id != acting_org_id):
        raise NotFound("回收记录不存在 / intake record not found", reason="intake.not_found")
    if original.reverses_id is not None:
        raise Conflict("冲销记录不能再更正 / a reversal can't be corrected", reason="intake.is_reversal")
    if uow.session.scalar(select(Intake.id).where(Intake.reverses_id == original.id)) is not None:
        raise Conflict("该记录已被更正 / this record was already corrected", reason="intake.already_reversed")
    reversal = Intake(site_id=original.site_id, organisation_id=original.organisation_id,
                      county_code=original.county_code, source=original.source, category=original.category,
                      units=-original.units, weight_kg=-original.weight_kg, occurred_on=original.occurred_on,
                      certificate_id=original.certificate_id, trade_in_ref=original.trade_in_ref,
                      reverses_id=original.id, note=reason.strip()[:200], recorded_by=actor)
    uow.session.add(reversal)
    uow.flush()
    _apply(uow, reversal, records=-1)
    closed_loop.unmatch_intake(uow, actor=actor, intake_id=original.id)
    audit.record(uow, actor=actor, action="recycling.intake_reversed", entity_type="intake_record",
                 entity_id=original.id, after={"reversal": reversal.id, "reason": reason.strip()})
    return reversal.id


def correct_intake(uow: UnitOfWork, *, actor: str, acting_org_id: int | None, intake_id: int, reason: str,
                   replacement: IntakeDraft | None = None) -> Correction:
    """Correct an intake: reverse it and, when given, record what should have been recorded."""
    reversal_id = reverse_intake(uow, actor=actor, acting_org_id=acting_org_id, intake_id=intake_id, reason=reason)
    new_id = None
    if replacement is not None:
        new_id = record_intake(uow, actor=actor, acting_org_id=acting_org_id, draft=replacement)
    return Correction(reversal_id, new_id)


def _view(row: Intake, reversed_by: int | None) -> IntakeView:
    return IntakeView(row.id, row.site_id, row.organisation_id, row.county_code, row.source, row.category, row.units,
                      row.weight_kg, row.occurred_on, row.certificate_id, row.trade_in_ref, row.reverses_id,
                      reversed_by, row.note, row.recorded_by)


def _visible(uow: UnitOfWork, stmt: Select[Intake], *, principal: Principal | None, site_id: int | None,
             date_from: dt.date | None, date_to: dt.date | None) -> Select[Intake]:
    """Narrow a query of intakes to the caller's scope, a site and a date range."""
    if site_id is not None:
        get_site(uow, site_id=site_id, principal=principal)
        stmt = stmt.where(Intake.site_id == site_id)
    if principal is not None and principal.organisation_kind in (OrgKind.RECYCLER, OrgKind.DEALER):
        stmt = stmt.where(Intake.organisation_id == principal.organisation_id)
    elif principal is not None and not principal.all_counties:
        stmt = stmt.where(Intake.county_code.in_(principal.counties))
    if date_from is not None:
        stmt = stmt.where(Intake.occurred_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Intake.occurred_on <= date_to)
    return stmt


def _views(uow: UnitOfWork, rows: list[Intake]) -> list[IntakeView]:
    reversed_by: dict[int | None, int] = {reverses: by for reverses, by in uow.session.execute(
        select(Intake.reverses_id, Intake.id).where(Intake.reverses_id.in_([r.id for r in rows])))}
    return [_view(r, reversed_by.get(r.id)) for r in rows]


def list_intakes(uow: UnitOfWork, *, principal: Principal | None, site_id: int | None = None,
                 date_from: dt.date | None = None, date_to: dt.date | None = None, limit: int = 200
                 ) -> list[IntakeView]:
    """List intake records the caller may see, newest first."""
    stmt = _visible(uow, select(Intake), principal=principal, site_id=site_id, date_from=date_from, date_to=date_to)
    return _views(uow, list(uow.session.scalars(stmt.order_by(Intake.id.desc()).limit(limit))))


def intake_page(uow: UnitOfWork, *, principal: Principal | None, number: int, site_id: int | None = None,
                date_from: dt.date | None = None, date_to: dt.date | None = None) -> Page[IntakeView]:
    """One page of the intake records the caller may see, newest first, with their count."""
    if date_from and date_to and date_to < date_from:
        raise ValidationFailed.field("date_to", "截止日期早于起始日期 / the end is before the start")
    stmt = _visible(uow, select(Intake), principal=principal, site_id=site_id, date_from=date_from, date_to=date_to)
    total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    number = within(number, total)
    rows = list(uow.session.scalars(stmt.order_by(Intake.id.desc()).offset(offset(number)).limit(PAGE_SIZE)))
    return Page(_views(uow, rows), total, number)


def get_intake(uow: UnitOfWork, *, intake_id: int, principal: Principal | None) -> IntakeView:
    """Show one intake record the caller may see."""
    row = uow.session.get(Intake, intake_id)
    if row is None or (principal is not None and not principal.covers_organisation(row.organisation_id,
                                                                                    row.county_code)):
        raise NotFound("回收记录不存在 / intake record not found", reason="intake.not_found")
    reversed_by = uow.session.scalar(select(Intake.id).where(Intake.reverses_id == row.id))
    return _view(row, reversed_by)
