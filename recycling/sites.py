"""Recyclers' qualifications and sites."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import Select, select

from recycling.domain import QualificationKind, SiteLevel, licence_valid
from recycling.models import Qualification, Site
from recycling.site_kinds import SiteKind
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import COUNTIES, OrgKind, Principal
from subsidy_app.identity.organisations import OrganisationView, get_organisation

Row = TypeVarTuple("Row")


@dataclass(frozen=True)
class QualificationView:
    """A recycler's licence as callers see it."""

    id: int
    organisation_id: int
    kind: str
    number: str
    valid_from: dt.date
    valid_to: dt.date | None
    valid_today: bool


@dataclass(frozen=True)
class SiteView:
    """A site as callers see it."""

    id: int
    organisation_id: int
    code: str
    name: str
    level: str
    county_code: str
    address: str
    active: bool
    kind: str  # site_kinds.SiteKind


def recycler(uow: UnitOfWork, organisation_id: int) -> OrganisationView:
    """Return a recycler organisation or raise NotFound."""
    org = get_organisation(uow, organisation_id, kind=OrgKind.RECYCLER)
    if org is None:
        raise NotFound("回收企业不存在 / recycler not found", reason="recycler.not_found")
    return org


def covers_recycler(principal: Principal | None, org: OrganisationView) -> bool:
    """Tell whether a caller (None = system) may act on or see a recycler's data."""
    return principal is None or principal.covers_organisation(org.id, org.county_code)


def _qualification_view(row: Qualification, today: dt.date) -> QualificationView:
    return QualificationView(row.id, row.organisation_id, row.kind, row.number, row.valid_from, row.valid_to,
                             licence_valid(row.valid_from, row.valid_to, today))


def register_qualification(
    uow: UnitOfWork, *, actor: str, organisation_id: int, kind: QualificationKind, number: str,
    valid_from: dt.date, valid_to: dt.date | None,
) -> int:
    """Record a recycler's licence or filing with its number and validity."""
    recycler(uow, organisation_id)
    clean = number.strip()
    if not clean:
        raise ValidationFailed.field("number", "证书编号不能为空 / the number is required")
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed.field("valid_to", "有效期止早于起始日 / valid_to is before valid_from")
    clash = uow.session.scalar(select(Qualification.id).where(Qualification.kind == kind.value,
                                                              Qualification.number == clean))
    if clash is not None:
        raise Conflict("该证书编号已登记 / this licence number is already registered",
                       reason="qualification.duplicate")
    row = Qualification(organisation_id=organisation_id, kind=kind.value, number=clean, valid_from=valid_from,
                        valid_to=valid_to)
    uow.session.add(row)
    uow.flush()
    audit.record(uow, actor=actor, action="recycler.qualification_added", entity_type="organisation",
                 entity_id=organisation_id, after={"kind": kind.value, "number": clean, "valid_from": valid_from,
                                                   "valid_to": valid_to})
    return row.id


def list_qualifications(uow: UnitOfWork, *, organisation_id: int, today: dt.date | None = None
                        ) -> list[QualificationView]:
    """List a recycler's licences, marking those valid today."""
    rows = uow.session.scalars(select(Qualification).where(Qualification.organisation_id == organisation_id)
                               .order_by(Qualification.id))
    return [_qualification_view(r, today or business_date()) for r in rows]


def licence_for(uow: UnitOfWork, *, organisation_id: int, kind: QualificationKind, on: dt.date
                ) -> tuple[Qualification | None, bool]:
    """Return the recycler's licence of a kind covering a day (or its latest one) and whether it is valid then."""
    rows = list(uow.session.scalars(select(Qualification).where(
        Qualification.organisation_id == organisation_id, Qualification.kind == kind.value)
        .order_by(Qualification.valid_from.desc())))
    for row in rows:
        if licence_valid(row.valid_from, row.valid_to, on):
            return row, True
    return (rows[0] if rows else None), False


def register_site(
    uow: UnitOfWork, *, actor: str, organisation_id: int, code: str, name: str, level: SiteLevel,
    county_code: str, address: str = "", kind: SiteKind = SiteKind.GENERAL,
) -> int:
    """Register a drop-off point, transfer station or sorting centre taking in what its kind says."""
    recycler(uow, organisation_id)
    if county_code not in COUNTIES:
        raise ValidationFailed.field("county_code", "不是吕梁市的区县代码 / not a Lüliang county code")
    clean = code.strip()
    if not clean or not name.strip():
        raise ValidationFailed.field("code", "网点编码和名称不能为空 / code and name are required")
    clash = uow.session.scalar(select(Site.id).where(Site.organisation_id == organisation_id, Site.code == clean))
    if clash is not None:
        raise Conflict("网点编码已存在 / this site code exists", reason="site.duplicate")
    site = Site(organisation_id=organisation_id, code=clean, name=name.strip(), level=level.value,
                kind=SiteKind(kind).value, county_code=county_code, address=address.strip())
    uow.session.add(site)
    uow.flush()
    audit.record(uow, actor=actor, action="recycling.site_registered", entity_type="recycling_site",
                 entity_id=site.id, after={"code": clean, "level": level.value, "kind": site.kind,
                                                      "county": county_code})
    return site.id


def site_view(site: Site) -> SiteView:
    """Describe a site."""
    return SiteView(site.id, site.organisation_id, site.code, site.name, site.level, site.county_code, site.address,
                    site.active, site.kind)


def get_site(uow: UnitOfWork, *, site_id: int, principal: Principal | None = None, lock: bool = False) -> Site:
    """Return a site the caller may see, or raise NotFound."""
    # Without a lock the identity map answers repeated look-ups (bulk imports) without a round trip.
    site = uow.session.get(Site, site_id, with_for_update=lock or None)
    if site is None or (principal is not None
                        and not principal.covers_organisation(site.organisation_id, site.county_code)):
        raise NotFound("回收网点不存在或不在权限范围内 / site not found or outside your scope", reason="site.not_found")
    return site


def site_by_code(uow: UnitOfWork, *, organisation_id: int, code: str) -> Site | None:
    """Return a recycler's site by its code."""
    return uow.session.scalar(select(Site).where(Site.organisation_id == organisation_id, Site.code == code.strip()))


def in_scope(stmt: Select[*Row], principal: Principal | None) -> Select[*Row]:
    """Narrow a query that joins Site to the caller's own recycler (clerks) or their counties (bureau staff)."""
    if principal is not None and principal.organisation_kind in (OrgKind.RECYCLER, OrgKind.DEALER):
        return stmt.where(Site.organisation_id == principal.organisation_id)
    if principal is not None and not principal.all_counties:
        return stmt.where(Site.county_code.in_(principal.counties))
    return stmt


def list_sites(uow: UnitOfWork, *, principal: Principal | None = None, organisation_id: int | None = None
               ) -> list[SiteView]:
    """List the sites the caller may see."""
    stmt = in_scope(select(Site).order_by(Site.id), principal)
    if organisation_id is not None:
        stmt = stmt.where(Site.organisation_id == organisation_id)
    return [site_view(s) for s in uow.session.scalars(stmt)]


@dataclass(frozen=True)
class SiteRegister:
    """A recycler's sites and licences (each marked valid today or not), as its clerks see them."""

    sites: list[SiteView]
    qualifications: list[QualificationView]


def site_register(uow: UnitOfWork, *, principal: Principal) -> SiteRegister:
    """Return the caller's own recycler's sites and licences."""
    org = recycler(uow, principal.organisation_id or 0)
    return SiteRegister(list_sites(uow, principal=principal, organisation_id=org.id),
                        list_qualifications(uow, organisation_id=org.id))
