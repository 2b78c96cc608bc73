"""Organisations as other packages see them: a frozen view by id, names by id, and the ids within counties."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, select

from subsidy_app.core.db import slices
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind
from subsidy_app.identity.models import Organisation


@dataclass(frozen=True)
class OrganisationView:
    """A dealer, recycler, bureau or finance office, as read by the packages that refer to it by id."""

    id: int
    kind: str
    name: str
    credit_code: str
    county_code: str
    city_level: bool
    active: bool


def get_organisation(uow: UnitOfWork, organisation_id: int, *, kind: OrgKind | None = None
                     ) -> OrganisationView | None:
    """Return an organisation (only if of `kind`, when given), or None."""
    row = uow.session.get(Organisation, organisation_id)
    if row is None or (kind is not None and row.kind != kind.value):
        return None
    return OrganisationView(row.id, row.kind, row.name, row.credit_code, row.county_code, row.city_level, row.active)


def organisation_name(uow: UnitOfWork, organisation_id: int) -> str | None:
    """Return an organisation's name, or None when there is no such organisation."""
    row = uow.session.get(Organisation, organisation_id)  # from the identity map when preloaded
    return row.name if row else None


def organisation_names(uow: UnitOfWork, organisation_ids: Iterable[int]) -> dict[int, str]:
    """Return the names of these organisations by id (unknown ids are left out)."""
    ids = set(organisation_ids)
    if not ids:
        return {}
    rows = uow.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return {org_id: name for org_id, name in rows}


def ids_of_kind(uow: UnitOfWork, organisation_ids: Iterable[int], *, kind: OrgKind) -> set[int]:
    """Which of these ids are organisations of the kind (a batch asks once for all its rows)."""
    ids = set(organisation_ids)
    if not ids:
        return set()
    return set(uow.session.scalars(select(Organisation.id).where(Organisation.id.in_(ids),
                                                                 Organisation.kind == kind.value)))


def name_query(organisation_id: int) -> Select[str]:
    """Return the query of an organisation's name, for a caller working in a session of its own."""
    return select(Organisation.name).where(Organisation.id == organisation_id)


def organisation_named(uow: UnitOfWork, name: str) -> int | None:
    """Return the id of the organisation with this name, or None."""
    found: int | None = uow.session.scalar(select(Organisation.id).where(Organisation.name == name).limit(1))
    return found


def preload(uow: UnitOfWork, *, organisation_ids: Iterable[int]) -> list[object]:
    """Load many organisations at once; the caller keeps the result referenced while it reads them by id."""
    keep: list[object] = []
    for ids in slices(set(organisation_ids)):
        keep += uow.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))
    return keep


def ids_in_counties(counties: Iterable[str]) -> Select[int]:
    """Return the query of the ids of organisations in these counties, for a caller's `IN` filter."""
    return select(Organisation.id).where(Organisation.county_code.in_(list(counties)))


def dealers_in(uow: UnitOfWork, *, counties: Iterable[str] | None) -> dict[int, str]:
    """Return the dealers of these counties (None: every county) by id, with their names, ordered by name."""
    query = select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.DEALER.value)
    if counties is not None:
        query = query.where(Organisation.county_code.in_(list(counties)))
    return {org_id: name for org_id, name in uow.session.execute(query.order_by(Organisation.name, Organisation.id))}
