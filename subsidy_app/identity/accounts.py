"""Account administration: list the accounts in an admin's scope, disable or enable, reset a password, set scope."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select

from subsidy_app.audit import services as audit
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import services, visibility
from subsidy_app.identity.domain import COUNTIES, ROLES_BY_ORG_KIND, OrgKind, Principal, Role
from subsidy_app.identity.models import Account, Organisation

# Letters and digits that cannot be mistaken for one another when read out over the phone.
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet
TEMPORARY_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class AccountRow:
    """One account as the administration list shows it."""

    id: int
    username: str
    display_name: str
    organisation_id: int
    organisation_name: str
    organisation_kind: str
    roles: tuple[str, ...]
    counties: tuple[str, ...]
    all_counties: bool
    active: bool
    locked: bool


def _row(account: Account) -> AccountRow:
    org = account.organisation
    roles = tuple(r for r in account.roles.split(",") if r)
    counties = tuple(c for c in account.counties.split(",") if c)
    return AccountRow(account.id, account.username, account.display_name, org.id, org.name, org.kind, roles, counties,
                      account.all_counties or org.city_level, account.active, account.locked_until is not None)


def _in_scope(principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions limiting accounts to an admin's counties (a county admin never sees city-wide accounts)."""
    if principal.all_counties:
        return []
    counties = sorted(principal.counties)
    return [Organisation.county_code.in_(counties), Organisation.city_level.is_(False),
            Account.all_counties.is_(False)]


def list_accounts(uow: UnitOfWork, *, principal: Principal, organisation_id: int | None = None,
                  role: Role | None = None, query: str = "", offset: int = 0, limit: int = 50
                  ) -> tuple[int, list[AccountRow]]:
    """Return how many accounts in the admin's scope match, and one page of them."""
    stmt = select(Account).join(Organisation, Account.organisation_id == Organisation.id).where(*_in_scope(principal))
    if organisation_id is not None:
        stmt = stmt.where(Account.organisation_id == organisation_id)
    if role is not None:
        stmt = stmt.where(or_(Account.roles == role.value, Account.roles.like(f"{role.value},%"),
                              Account.roles.like(f"%,{role.value}"), Account.roles.like(f"%,{role.value},%")))
    if query.strip():
        pattern = f"%{query.strip()}%"
        stmt = stmt.where(or_(Account.username.ilike(pattern), Account.display_name.ilike(pattern)))
    total = int(uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = uow.session.scalars(stmt.order_by(Account.id).offset(offset).limit(limit))
    return total, [_row(a) for a in rows]


def organisations_in_scope(uow: UnitOfWork, *, principal: Principal) -> list[tuple[int, str, str, tuple[str, ...]]]:
    """Return (id, name, kind, roles its accounts may hold) of each organisation an admin may create accounts in."""
    stmt = select(Organisation).order_by(Organisation.kind, Organisation.id)
    if not principal.all_counties:
        stmt = stmt.where(Organisation.county_code.in_(sorted(principal.counties)),
                          Organisation.city_level.is_(False))
    return [(o.id, o.name, o.kind, tuple(sorted(ROLES_BY_ORG_KIND[OrgKind(o.kind)])))
            for o in uow.session.scalars(stmt)]


def account_in_scope(uow: UnitOfWork, *, principal: Principal, account_id: int) -> AccountRow:
    """Return an account the admin may manage; 404 for one outside their scope, as for one that does not exist."""
    account = uow.session.get(Account, account_id)
    visibility.require(account is not None and Role.ADMIN in principal.roles
                       and visibility.may_see_account(uow, principal, account_id))
    assert account is not None
    return _row(account)


def _managed(uow: UnitOfWork, principal: Principal, account_id: int) -> Account:
    account_in_scope(uow, principal=principal, account_id=account_id)
    account = uow.session.get(Account, account_id, with_for_update=True)
    assert account is not None
    return account


def set_active(uow: UnitOfWork, *, principal: Principal, account_id: int, active: bool) -> AccountRow:
    """Disable or enable an account; an admin cannot disable their own. Setting the same state again is harmless."""
    account = _managed(uow, principal, account_id)
    if not active and account.id == principal.account_id:
        raise Conflict("不能停用自己的账号 / you cannot disable your own account", reason="account.self_disable")
    if account.active != active:
        account.active = active
        audit.record(uow, actor=principal.actor, action="account.enabled" if active else "account.disabled",
                     entity_type="account", entity_id=account.id, before={"active": not active},
                     after={"active": active})
    return _row(account)


def reset_password(uow: UnitOfWork, *, principal: Principal, account_id: int) -> str:
    """Set a random temporary password and unlock the account; return the password, shown to the admin once."""
    account = _managed(uow, principal, account_id)
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(TEMPORARY_PASSWORD_LENGTH))
    account.password_hash = services.hash_password(password)
    account.failed_logins, account.locked_until = 0, None
    account.must_change_password = True  # the admin knows it: the holder chooses their own at the next login
    audit.record(uow, actor=principal.actor, action="account.password_reset", entity_type="account",
                 entity_id=account.id, after={"unlocked": True})  # never the password itself
    return password


def set_counties(uow: UnitOfWork, *, principal: Principal, account_id: int, counties: list[str]) -> AccountRow:
    """Set the counties a county-level account covers, each within the admin's own scope."""
    account = _managed(uow, principal, account_id)
    if account.all_counties or account.organisation.city_level:
        raise ValidationFailed.field("counties", "市级账号覆盖全市,无需指定区县 / a city-level account covers every "
                                                 "county", reason="account.city_level")
    scope = sorted(set(counties))
    if not scope:
        raise ValidationFailed.field("counties", "请至少选择一个区县 / choose at least one county")
    if any(c not in COUNTIES for c in scope):
        raise ValidationFailed.field("counties", "含未知区县代码 / unknown county code")
    if not all(principal.covers_county(c) for c in scope):
        raise ValidationFailed.field("counties", "只能指定您管辖范围内的区县 / only counties within your scope",
                                     reason="account.scope")
    before = account.counties
    if before != ",".join(scope):
        account.counties = ",".join(scope)
        audit.record(uow, actor=principal.actor, action="account.scope_changed", entity_type="account",
                     entity_id=account.id, before={"counties": before}, after={"counties": account.counties})
    return _row(account)
