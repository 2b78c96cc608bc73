"""Who may see a scrap certificate or an intake import, and the owners and vehicles certificates name."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from recycling.models import IntakeImport, ScrapCertificate
from recycling.sites import covers_recycler
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import Principal
from subsidy_app.identity.organisations import get_organisation


def may_see_recycler_data(uow: UnitOfWork, principal: Principal | None, organisation_id: int) -> bool:
    """Tell whether a caller (None = system) may see what a recycler recorded: its clerks, or its county's staff."""
    org = get_organisation(uow, organisation_id)
    return org is not None and covers_recycler(principal, org)


def may_see_certificate(uow: UnitOfWork, principal: Principal | None, row: ScrapCertificate) -> bool:
    """Tell whether the caller may see a certificate: as they may see its dismantler's data."""
    return may_see_recycler_data(uow, principal, row.dismantler_org_id)


def may_see_import(uow: UnitOfWork, principal: Principal | None, batch: IntakeImport) -> bool:
    """Tell whether the caller may see a bulk intake import: as they may see its recycler's data."""
    return may_see_recycler_data(uow, principal, batch.organisation_id)


def _through_certificates(uow: UnitOfWork, principal: Principal, where: ColumnElement[bool]) -> bool:
    dismantlers = uow.session.scalars(select(ScrapCertificate.dismantler_org_id).where(where).distinct())
    return any(may_see_recycler_data(uow, principal, org_id) for org_id in dismantlers)


def _person_through_certificate(uow: UnitOfWork, principal: Principal, person: visibility.PersonRef) -> bool:
    return _through_certificates(uow, principal, ScrapCertificate.owner_id_hash == person.id_number_hash)


def _vehicle_through_certificate(uow: UnitOfWork, principal: Principal, vin: str) -> bool:
    return _through_certificates(uow, principal, ScrapCertificate.vin == vin)


visibility.link_person("recycling.certificate", _person_through_certificate)
visibility.link_vehicle("recycling.certificate", _vehicle_through_certificate)
