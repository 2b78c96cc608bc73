"""Identity use cases: organisations, staff accounts, password login with lockout, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select

from subsidy_app.audit import services as audit
from subsidy_app.core.clock import beijing_time
from subsidy_app.core.db import utcnow
from subsidy_app.core.errors import Conflict, FieldErrors, Forbidden, NotAuthenticated, NotFound, ValidationFailed
from subsidy_app.core.identifiers import check_credit_code
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import COUNTIES, ROLES_BY_ORG_KIND, OrgKind, Principal, Role
from subsidy_app.identity.models import Account, ApiToken, County, Notification, Organisation

_hasher = PasswordHasher()
TOKEN_PREFIX = "lvt"  # noqa: S105 - a public prefix, not a secret
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class OrganisationRef:
    """The id of a registered organisation and any warning about its credit code."""

    id: int
    warning: str | None


@dataclass(frozen=True)
class IssuedToken:
    """A new API token; `secret` is shown once and never stored."""

    id: int
    secret: str


def ensure_counties(uow: UnitOfWork) -> int:
    """Create the 13 counties if missing; return how many were added."""
    existing = set(uow.session.scalars(select(County.code)))
    added = [County(code=code, name=name) for code, name in COUNTIES.items() if code not in existing]
    uow.session.add_all(added)
    return len(added)


def register_organisation(
    uow: UnitOfWork, *, actor: str, kind: OrgKind, name: str, credit_code: str, county_code: str,
    city_level: bool = False,
) -> OrganisationRef:
    """Register an organisation; a credit code failing its check character is kept with a warning."""
    checked = check_credit_code(credit_code, field="credit_code")
    if county_code not in COUNTIES:
        raise ValidationFailed.field("county_code", f"不是吕梁市的区县代码 / not a Lüliang county code: {county_code}")
    existing = uow.session.scalar(select(Organisation).where(Organisation.credit_code == checked.value))
    if existing is not None:
        raise Conflict("该统一社会信用代码已登记 / credit code already registered", reason="organisation.duplicate")
    org = Organisation(
        kind=kind.value, name=name.strip(), credit_code=checked.value, credit_code_warning=checked.warning,
        county_code=county_code, city_level=city_level,
    )
    uow.session.add(org)
    uow.flush()
    audit.record(uow, actor=actor, action="organisation.registered", entity_type="organisation", entity_id=org.id,
                 after={"kind": kind.value, "name": org.name, "county": county_code, "warning": checked.warning})
    return OrganisationRef(org.id, checked.warning)


def hash_password(password: str) -> str:
    """Return the stored form of a password (argon2)."""
    return _hasher.hash(password)


def _check_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"密码至少 {MIN_PASSWORD_LENGTH} 位 / at least {MIN_PASSWORD_LENGTH} characters"
        raise ValidationFailed.field(field, message)


def create_account(
    uow: UnitOfWork, *, actor: str, organisation_id: int, username: str, display_name: str, password: str,
    roles: list[Role], counties: list[str] | None = None, all_counties: bool = False,
    principal: Principal | None = None,
) -> int:
    """Create a staff account whose roles fit its organisation's kind, within the creating admin's scope."""
    org = uow.session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound("机构不存在 / organisation not found", reason="organisation.not_found")
    # principal is None only for the seeding system; an admin creates accounts no wider than their own scope.
    if principal is not None and not visibility.may_manage_scope(principal, org, counties or [org.county_code],
                                                                 all_counties):
        raise visibility.not_in_scope()
    allowed = ROLES_BY_ORG_KIND[OrgKind(org.kind)]
    wrong = [r.value for r in roles if r not in allowed]
    if not roles or wrong:
        raise ValidationFailed.field("roles", f"角色与机构类型不符 / roles not allowed for a {org.kind}: {wrong}")
    _check_password(password)
    scope = sorted(set(counties or [org.county_code]))
    if any(c not in COUNTIES for c in scope):
        raise ValidationFailed.field("counties", "含未知区县代码 / unknown county code")
    if uow.session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict("用户名已存在 / username taken", reason="account.duplicate")
    account = Account(
        username=username, display_name=display_name, password_hash=_hasher.hash(password),
        organisation_id=org.id, roles=",".join(sorted(r.value for r in roles)), counties=",".join(scope),
        all_counties=all_counties or org.city_level,
        must_change_password=principal is not None,  # an admin chose it: its holder must choose their own
    )
    uow.session.add(account)
    uow.flush()
    audit.record(uow, actor=actor, action="account.created", entity_type="account", entity_id=account.id,
                 after={"username": username, "roles": account.roles, "counties": account.counties})
    return account.id


def change_password(uow: UnitOfWork, *, account_id: int, current_password: str, new_password: str) -> None:
    """Replace an account's password with one its holder chose, after checking the current one."""
    account = uow.session.get(Account, account_id, with_for_update=True)
    if account is None or not account.active:
        raise NotAuthenticated("请先登录 / please log in", reason="auth.required")
    errors = FieldErrors()
    try:
        _hasher.verify(account.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        errors.add("current_password", "当前密码不正确 / the current password is wrong", reason="auth.wrong_password")
    errors.value(lambda: _check_password(new_password, field="new_password"), None)
    if new_password and new_password == current_password:
        errors.add("new_password", "新密码不能与当前密码相同 / choose a password different from the current one",
                   reason="auth.same_password")
    errors.raise_any()
    account.password_hash = _hasher.hash(new_password)
    account.must_change_password = False
    audit.record(uow, actor=f"account:{account.id}:{account.username}", action="account.password_changed",
                 entity_type="account", entity_id=account.id)  # never the password itself


def principal_of(account: Account, *, via: str = "session") -> Principal:
    """Build the principal an account acts as."""
    return _principal(account.id, account.username, account.organisation_id, account.organisation.kind,
                      account.roles, account.counties, account.all_counties or account.organisation.city_level,
                      account.must_change_password, via)


def _principal(account_id: int, username: str, organisation_id: int, organisation_kind: str, roles: str,
               counties: str, all_counties: bool, must_change_password: bool, via: str) -> Principal:
    return Principal(
        kind="staff", account_id=account_id, username=username, organisation_id=organisation_id,
        organisation_kind=OrgKind(organisation_kind), roles=frozenset(Role(r) for r in roles.split(",") if r),
        counties=frozenset(c for c in counties.split(",") if c), all_counties=all_counties, via=via,
        must_change_password=must_change_password,
    )


def authenticate(uow: UnitOfWork, *, username: str, password: str, max_failures: int, lock_minutes: int) -> Principal:
    """Check a password; lock the account after repeated failures. Commits the attempt either way."""
    account = uow.session.scalar(select(Account).where(Account.username == username).with_for_update(of=Account))
    invalid = NotAuthenticated("用户名或密码错误 / wrong username or password", reason="auth.invalid_credentials")
    if account is None or not account.active:
        _hasher.hash(password)  # spend the same time as a real check so usernames can't be probed
        raise invalid
    now = utcnow()
    locked_until = beijing_time(account.locked_until)  # the clerk reads it on the login page: Beijing time
    if locked_until is not None and locked_until > now:
        raise NotAuthenticated(
            f"账号已锁定至北京时间 {locked_until:%H:%M} / account locked until {locked_until:%H:%M} Beijing time",
            reason="auth.locked",
        )
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        account.failed_logins += 1
        action = "account.login_failed"
        if account.failed_logins >= max_failures:
            account.locked_until = now + dt.timedelta(minutes=lock_minutes)
            account.failed_logins = 0
            action = "account.locked"
        audit.record(uow, actor=f"account:{account.id}:{account.username}", action=action,
                     entity_type="account", entity_id=account.id, after={"failed": account.failed_logins})
        uow.commit()
        raise invalid from None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    principal = principal_of(account)
    audit.record(uow, actor=principal.actor, action="account.login", entity_type="account", entity_id=account.id)
    uow.commit()
    return principal


def load_principal(uow: UnitOfWork, *, account_id: int) -> Principal | None:
    """Return the principal of an active account, or None."""
    account = uow.session.get(Account, account_id)
    if account is None or not account.active:
        return None
    return principal_of(account)


def _token_digest(secret: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough; argon2 is for human passwords.
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_token(uow: UnitOfWork, *, principal: Principal, account_id: int, name: str) -> IssuedToken:
    """Issue a token for an account the caller owns (or, for an admin, an account within their scope)."""
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("账号不存在 / account not found", reason="account.not_found")
    if not visibility.may_see_account(uow, principal, account.id):
        raise Forbidden("只能为自己的账号(管理员:管辖范围内的账号)签发令牌 / you may only issue tokens for your own "
                        "account (an admin: for accounts within your scope)")
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(account_id=account.id, name=name.strip() or "token", prefix=prefix,
                     token_hash=_token_digest(secret))
    uow.session.add(token)
    uow.flush()
    audit.record(uow, actor=principal.actor, action="api_token.issued", entity_type="api_token", entity_id=token.id,
                 after={"account": account.id, "name": token.name, "prefix": prefix})
    return IssuedToken(token.id, secret)


def revoke_api_token(uow: UnitOfWork, *, principal: Principal, token_id: int) -> None:
    """Revoke a token; revoking twice is harmless."""
    token = uow.session.get(ApiToken, token_id)
    if token is None or not visibility.may_see_account(uow, principal, token.account_id):
        raise NotFound("令牌不存在 / token not found", reason="api_token.not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(uow, actor=principal.actor, action="api_token.revoked", entity_type="api_token",
                     entity_id=token.id)


# Built once: every API call resolves its token, and building the query cost more than running it. One row of
# plain columns (token, account and organisation together): no ORM objects, one round trip (issue 17 §2).
_TOKEN_BY_PREFIX = (
    select(ApiToken.token_hash, ApiToken.revoked_at, Account.id, Account.username, Account.organisation_id,
           Organisation.kind, Account.roles, Account.counties, Account.all_counties, Organisation.city_level,
           Account.must_change_password, Account.active)
    .join(Account, Account.id == ApiToken.account_id).join(Organisation, Organisation.id == Account.organisation_id)
    .where(ApiToken.prefix == bindparam("prefix")))


def principal_for_token(uow: UnitOfWork, *, secret: str) -> Principal | None:
    """Resolve a bearer token to its account's principal, or None if unknown or revoked."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    row = uow.session.execute(_TOKEN_BY_PREFIX, {"prefix": parts[1]}).first()
    if row is None or row.revoked_at is not None:
        return None
    if not secrets.compare_digest(row.token_hash, _token_digest(secret)):
        return None
    if not row.active:
        return None
    return _principal(row.id, row.username, row.organisation_id, row.kind, row.roles, row.counties,
                      row.all_counties or row.city_level, row.must_change_password, "token")


def list_api_tokens(uow: UnitOfWork, *, principal: Principal) -> list[dict[str, object]]:
    """List the caller's tokens (never their secrets)."""
    query = select(ApiToken).where(ApiToken.account_id == principal.account_id).order_by(ApiToken.id)
    rows = uow.session.scalars(query)
    return [
        {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at, "revoked_at": t.revoked_at}
        for t in rows
    ]


def notify_county(
    uow: UnitOfWork, *, county_code: str, kind: str, title: str, body: str,
    entity_type: str | None = None, entity_id: str | int | None = None,
) -> int:
    """Leave a notification for a county bureau's staff."""
    note = Notification(county_code=county_code, kind=kind, title=title, body=body, entity_type=entity_type,
                        entity_id=None if entity_id is None else str(entity_id))
    uow.session.add(note)
    uow.flush()
    return note.id


def list_notifications(uow: UnitOfWork, *, principal: Principal, limit: int = 50) -> list[dict[str, object]]:
    """List the newest notifications in the caller's counties."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if not principal.all_counties:
        query = query.where(Notification.county_code.in_(principal.counties))
    return [
        {"id": n.id, "county_code": n.county_code, "kind": n.kind, "title": n.title, "body": n.body,
         "entity_type": n.entity_type, "entity_id": n.entity_id, "created_at": n.created_at}
        for n in uow.session.scalars(query)
    ]


REVIEWING_ROLES = frozenset({Role.AUDITOR, Role.SENIOR_AUDITOR})


def reviewers_of(uow: UnitOfWork, *, county_code: str) -> dict[int, str]:
    """Active bureau auditors and senior auditors whose counties include this one: display names by account id."""
    accounts = uow.session.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.id))
    found: dict[int, str] = {}
    for account in accounts:
        principal = principal_of(account)
        if (principal.organisation_kind is OrgKind.BUREAU and principal.roles & REVIEWING_ROLES
                and principal.covers_county(county_code)):
            found[account.id] = account.display_name
    return found


def senior_auditors_of(uow: UnitOfWork, *, county_code: str) -> dict[int, str]:
    """Active bureau senior auditors whose counties include this one: display names by account id."""
    return {account_id: name for account_id, name in reviewers_of(uow, county_code=county_code).items()
            if (account := uow.session.get(Account, account_id)) is not None
            and Role.SENIOR_AUDITOR in principal_of(account).roles}


def account_names(uow: UnitOfWork, account_ids: Iterable[int]) -> dict[int, str]:
    """Display names of staff accounts, by id (one query)."""
    wanted = set(account_ids)
    if not wanted:
        return {}
    rows = uow.session.execute(select(Account.id, Account.display_name).where(Account.id.in_(wanted)))
    return {account_id: name for account_id, name in rows}
