"""Identity API: who am I, API tokens, organisations, accounts and persons."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from subsidy_app import idempotency
from subsidy_app.access import access, current_principal, raise_not_in_scope
from subsidy_app.bodies import Blueprint
from subsidy_app.http import uow
from subsidy_app.identity import persons, services
from subsidy_app.identity import schemas as s
from subsidy_app.identity.domain import OrgKind, Role
from subsidy_app.identity.models import Organisation

blp = Blueprint("identity", __name__, url_prefix="/api/v1", description="身份与权限 / identity and access")
STAFF = tuple(Role)
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN)


@blp.route("/me")
class Me(MethodView):
    """The calling account."""

    @access(*STAFF)
    @blp.response(200, s.PrincipalOut)
    def get(self) -> Any:
        """Describe the caller: roles, organisation and county scope."""
        p = current_principal()
        return {**p.__dict__, "roles": sorted(p.roles), "counties": sorted(p.counties)}


@blp.route("/tokens")
class Tokens(MethodView):
    """API tokens for dealers' and recyclers' systems."""

    @access(*STAFF)
    @blp.response(200, s.TokenListItem(many=True))
    def get(self) -> Any:
        """List the caller's tokens (never their secrets)."""
        with uow() as tx:
            return services.list_api_tokens(tx, principal=current_principal())

    @access(*STAFF)
    @blp.arguments(s.TokenIn)
    @blp.response(201, s.TokenOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Issue a token; the secret is in this response only."""
        principal = current_principal()
        idempotency.keep_secret("token")
        with uow() as tx:
            account_id = int(data["account_id"] or principal.account_id or 0)
            issued = services.issue_api_token(tx, principal=principal, account_id=account_id, name=data["name"])
            tx.commit()
        return {"id": issued.id, "token": issued.secret}


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    """One API token."""

    @access(*STAFF)
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke a token."""
        with uow() as tx:
            services.revoke_api_token(tx, principal=current_principal(), token_id=token_id)
            tx.commit()


def _org_out(org: Organisation) -> dict[str, Any]:
    return {c: getattr(org, c) for c in ("id", "kind", "name", "credit_code", "credit_code_warning", "county_code",
                                         "city_level", "active")}


@blp.route("/organisations")
class Organisations(MethodView):
    """Dealers, recyclers, bureaus and finance offices."""

    @access(*STAFF)
    @blp.arguments(s.OrganisationQuery, location="query")
    @blp.response(200, s.OrganisationOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List the organisations within the caller's scope."""
        principal = current_principal()
        with uow() as tx:
            stmt = select(Organisation).order_by(Organisation.id)
            if principal.organisation_kind in (OrgKind.DEALER, OrgKind.RECYCLER):
                stmt = stmt.where(Organisation.id == principal.organisation_id)
            elif not principal.all_counties:
                stmt = stmt.where(Organisation.county_code.in_(principal.counties))
            if query["kind"]:
                stmt = stmt.where(Organisation.kind == query["kind"].value)
            if query["county_code"]:
                stmt = stmt.where(Organisation.county_code == query["county_code"])
            return [_org_out(o) for o in tx.session.scalars(stmt)]

    @access(Role.ADMIN)
    @blp.arguments(s.OrganisationIn)
    @blp.response(201, s.OrganisationOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an organisation (a credit code failing its check character is kept with a warning)."""
        with uow() as tx:
            ref = services.register_organisation(tx, actor=current_principal().actor, **data)
            tx.commit()
            org = tx.session.get(Organisation, ref.id)
            assert org is not None
            return _org_out(org)


@blp.route("/organisations/<int:organisation_id>")
class OrganisationItem(MethodView):
    """One organisation."""

    @access(*STAFF)
    @blp.response(200, s.OrganisationOut)
    def get(self, organisation_id: int) -> Any:
        """Show an organisation within the caller's scope."""
        with uow() as tx:
            org = tx.session.get(Organisation, organisation_id)
            if org is None or not current_principal().covers_organisation(org.id, org.county_code):
                raise_not_in_scope()
            assert org is not None
            return _org_out(org)


@blp.route("/accounts")
class Accounts(MethodView):
    """Staff accounts."""

    @access(Role.ADMIN)
    @blp.arguments(s.AccountIn)
    @blp.response(201, s.IdOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a staff account with roles fitting its organisation."""
        with uow() as tx:
            principal = current_principal()
            account_id = services.create_account(tx, actor=principal.actor, principal=principal, **data)
            tx.commit()
        return {"id": account_id}


@blp.route("/persons")
class Persons(MethodView):
    """Residents and scrap sellers."""

    @access(Role.DEALER_CLERK, Role.RECYCLER_CLERK, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
    @blp.arguments(s.PersonIn)
    @blp.response(201, s.PersonOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a person (or find them by ID number); the answer is masked for clerks."""
        principal = current_principal()
        with uow() as tx:
            person_id = persons.register_person(tx, actor=principal.actor, **data)
            tx.commit()
            return persons.view_person(tx, person_id=person_id, principal=principal)


@blp.route("/persons/<int:person_id>")
class PersonItem(MethodView):
    """One person."""

    @access(*BUREAU)
    @blp.response(200, s.PersonOut)
    def get(self, person_id: int) -> Any:
        """Show a person in the caller's scope; auditors and finance see clear values, others masked."""
        with uow() as tx:
            return persons.get_person(tx, person_id=person_id, principal=current_principal())
