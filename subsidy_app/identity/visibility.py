"""Who may see what: the scope checks of persons, vehicles and accounts, and the links that vouch for them."""

# Each kind of object has one check. A package's own kinds (applications, certificates, invoices, ...) are checked
# in that package; persons and vehicles carry no county, so the packages whose objects name them register a link:
# an application, a sale or a certificate the caller may see makes its person (or vehicle) visible too.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from subsidy_app.core.errors import NotFound
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import OrgKind, Principal, Role
from subsidy_app.identity.models import Account, Organisation, Person

ORG_BOUND = frozenset({OrgKind.DEALER, OrgKind.RECYCLER})


@dataclass(frozen=True)
class PersonRef:
    """What a link needs to find a person's objects: the id, and the ID number's keyed hash (sales, certificates)."""

    id: int
    id_number_hash: str


PersonLink = Callable[[UnitOfWork, Principal, PersonRef], bool]
VehicleLink = Callable[[UnitOfWork, Principal, str], bool]
# Keyed by the registering package, so importing a module twice does not register its link twice.
_PERSON_LINKS: dict[str, PersonLink] = {}
_VEHICLE_LINKS: dict[str, VehicleLink] = {}


def not_in_scope() -> NotFound:
    """The answer for an object outside the caller's scope: the same as for one that does not exist."""
    return NotFound("不存在或不在您的权限范围内 / not found or outside your scope", reason="not_found")


def require(visible: bool) -> None:
    """Refuse (as 404) unless a scope check said the caller may see the object."""
    if not visible:
        raise not_in_scope()


def sees_every_county(principal: Principal) -> bool:
    """Tell whether a principal is city-level bureau or finance staff, who see every county's objects."""
    return principal.kind == "staff" and principal.all_counties and principal.organisation_kind not in ORG_BOUND


def link_person(name: str, link: PersonLink) -> None:
    """Let a package vouch that a caller may see a person through one of its objects naming them."""
    _PERSON_LINKS[name] = link


def link_vehicle(name: str, link: VehicleLink) -> None:
    """Let a package vouch that a caller may see a vehicle (by VIN) through one of its objects naming it."""
    _VEHICLE_LINKS[name] = link


def may_see_person(uow: UnitOfWork, principal: Principal, person_id: int) -> bool:
    """Tell whether the caller may see a person: themself, city-level staff, or through an object in scope."""
    if principal.kind == "resident":
        return principal.person_id == person_id
    person = uow.session.get(Person, person_id)
    if person is None or principal.kind != "staff":
        return False
    if sees_every_county(principal):
        return True
    ref = PersonRef(person.id, person.id_number_hash)
    return any(link(uow, principal, ref) for link in _PERSON_LINKS.values())


def may_see_vehicle(uow: UnitOfWork, principal: Principal, vin: str) -> bool:
    """Tell whether the caller may see a vehicle: city-level staff, or through a certificate or application."""
    if principal.kind != "staff":
        return False
    return sees_every_county(principal) or any(link(uow, principal, vin) for link in _VEHICLE_LINKS.values())


def may_see_account(uow: UnitOfWork, principal: Principal, account_id: int) -> bool:
    """Tell whether the caller may see (and issue or revoke tokens of) an account: their own, or an admin's scope."""
    if principal.kind != "staff":
        return False
    if account_id == principal.account_id:
        return True
    account = uow.session.get(Account, account_id)
    org = uow.session.get(Organisation, account.organisation_id) if account is not None else None
    return account is not None and org is not None and may_manage_scope(
        principal, org, [c for c in account.counties.split(",") if c], account.all_counties)


def may_manage_scope(principal: Principal, org: Organisation, counties: list[str], all_counties: bool) -> bool:
    """Tell whether an admin's scope holds an account's whole scope: its organisation and every county it covers."""
    # The account's whole scope, not only its organisation's county: a county admin must not act for the city.
    if Role.ADMIN not in principal.roles:
        return False
    if all_counties or org.city_level:
        return principal.all_counties
    return principal.covers_organisation(org.id, org.county_code) and all(principal.covers_county(c) for c in counties)
