"""Admins' account pages: list (by organisation and role), create, disable or enable, reset a password, set scope."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.text import checked_text
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity import accounts, services
from subsidy_app.identity.domain import COUNTIES, ROLE_LABELS_ZH, Role

bp = Blueprint("account_pages", __name__, template_folder="templates")
PAGE_SIZE = 50
LABELS = {"organisation_id": "所属机构", "username": "用户名", "display_name": "姓名", "password": "初始密码",
          "roles": "角色", "counties": "管辖区县"}
ORG_KIND_ZH = {"dealer": "经销商", "recycler": "回收企业", "bureau": "商务主管部门", "finance": "财政部门"}


def _number(value: str | None, field: str) -> int:
    text = (value or "").strip()
    if not text.isdigit() or int(text) > MAX_ID:
        raise ValidationFailed.field(field, "请选择 / choose one")
    return int(text)


def _page() -> int:
    text = request.args.get("page", "1")
    return min(int(text), 10_000) if text.isdigit() and int(text) > 0 else 1


def _role(value: str | None) -> Role | None:
    return Role(value) if value in set(Role) else None


@bp.route("/admin/accounts")
@access(Role.ADMIN)
def account_list() -> ResponseReturnValue:
    """List the accounts within the admin's scope, filtered by organisation, role and name, 50 a page."""
    page = _page()
    org_text = request.args.get("organisation_id", "")
    organisation_id = int(org_text) if org_text.isdigit() and int(org_text) <= MAX_ID else None
    role = _role(request.args.get("role"))
    query = request.args.get("q", "")[:60]
    principal = current_principal()
    with uow() as tx:
        total, rows = accounts.list_accounts(tx, principal=principal, organisation_id=organisation_id, role=role,
                                             query=query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        organisations = accounts.organisations_in_scope(tx, principal=principal)
    return render_template("identity/accounts.html", rows=rows, total=total, page=page, page_size=PAGE_SIZE,
                           organisations=organisations, organisation_id=organisation_id, role=role, q=query,
                           role_labels=ROLE_LABELS_ZH, counties=COUNTIES, kinds=ORG_KIND_ZH)


def _create_form(error: PageError | None = None) -> ResponseReturnValue:
    principal = current_principal()
    with uow() as tx:
        organisations = accounts.organisations_in_scope(tx, principal=principal)
    allowed = {str(i): list(roles) for i, _n, _k, roles in organisations}
    county_choices = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    return render_template("identity/account_new.html", error=error, labels=LABELS, organisations=organisations,
                           allowed=allowed, role_labels=ROLE_LABELS_ZH, counties=county_choices, kinds=ORG_KIND_ZH,
                           form=request.form), 422 if error else 200


@bp.route("/admin/accounts/new")
@access(Role.ADMIN)
def account_new() -> ResponseReturnValue:
    """Show the form for a new account: its organisation, roles fitting the organisation's kind, counties."""
    return _create_form()


@bp.route("/admin/accounts/new", methods=["POST"])
@access(Role.ADMIN)
def account_create() -> ResponseReturnValue:
    """Create the account; every bad field is shown beside it."""
    principal = current_principal()
    try:
        read = FieldErrors()
        organisation_id = read.value(partial(_number, request.form.get("organisation_id"), "organisation_id"), 0)
        username = read.value(partial(checked_text, request.form.get("username"), field="username", max_length=60),
                              "")
        display_name = read.value(partial(checked_text, request.form.get("display_name"), field="display_name",
                                          max_length=60), "")
        if not read.refused("username") and not username:
            read.add("username", "请填写用户名 / enter a username")
        if not read.refused("display_name") and not display_name:
            read.add("display_name", "请填写姓名 / enter a name")
        roles = [Role(r) for r in request.form.getlist("roles") if r in set(Role)]
        if len(roles) != len(request.form.getlist("roles")) or not roles:
            read.add("roles", "请选择角色 / choose at least one role")
        counties = request.form.getlist("counties")
        read.raise_any()
        with uow() as tx:
            account_id = services.create_account(
                tx, actor=principal.actor, principal=principal, organisation_id=organisation_id, username=username,
                display_name=display_name, password=request.form.get("password", ""), roles=roles,
                counties=counties or None)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404 and not exc.errors:
            exc = ValidationFailed.field("organisation_id", "机构不存在或不在您的管辖范围内 / organisation not found "
                                                            "or outside your scope")
        return _create_form(for_staff(exc, labels=LABELS, aliases={"organisation": "organisation_id"}))
    flash(f"已创建账号 {username}。", "ok")
    return redirect(url_for("account_pages.account_detail", account_id=account_id))


def _detail(account_id: int, *, error: PageError | None = None, new_password: str | None = None,
            status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    with uow() as tx:
        row = accounts.account_in_scope(tx, principal=principal, account_id=account_id)
    county_choices = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    return render_template("identity/account_detail.html", row=row, error=error, labels=LABELS,
                           new_password=new_password, role_labels=ROLE_LABELS_ZH, counties=COUNTIES,
                           county_choices=county_choices, kinds=ORG_KIND_ZH,
                           own=row.id == principal.account_id), status


@bp.route("/admin/accounts/<int:account_id>")
@access(Role.ADMIN)
def account_detail(account_id: int) -> ResponseReturnValue:
    """Show an account with its state, roles and counties, and the admin's actions on it."""
    return _detail(account_id)


@bp.route("/admin/accounts/<int:account_id>/active", methods=["POST"])
@access(Role.ADMIN)
def account_active(account_id: int) -> ResponseReturnValue:
    """Disable or enable an account (audited)."""
    wanted = request.form.get("active")
    try:
        if wanted not in ("0", "1"):
            raise ValidationFailed.field("active", "请选择停用或启用 / choose disable or enable")
        with uow() as tx:
            row = accounts.set_active(tx, principal=current_principal(), account_id=account_id, active=wanted == "1")
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _detail(account_id, error=for_staff(exc, labels=LABELS), status=exc.status)
    flash(f"账号 {row.username} 已{'启用' if row.active else '停用'}。", "ok")
    return redirect(url_for("account_pages.account_detail", account_id=account_id))


@bp.route("/admin/accounts/<int:account_id>/password", methods=["POST"])
@access(Role.ADMIN)
def account_password(account_id: int) -> ResponseReturnValue:
    """Reset the password to a random temporary one, shown on this page once (never flashed into the cookie)."""
    with uow() as tx:
        password = accounts.reset_password(tx, principal=current_principal(), account_id=account_id)
        tx.commit()
    return _detail(account_id, new_password=password)


@bp.route("/admin/accounts/<int:account_id>/counties", methods=["POST"])
@access(Role.ADMIN)
def account_counties(account_id: int) -> ResponseReturnValue:
    """Set the counties a county-level account covers (audited)."""
    try:
        with uow() as tx:
            row = accounts.set_counties(tx, principal=current_principal(), account_id=account_id,
                                        counties=request.form.getlist("counties"))
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _detail(account_id, error=for_staff(exc, labels=LABELS), status=exc.status)
    flash(f"账号 {row.username} 的管辖区县已更新。", "ok")
    return redirect(url_for("account_pages.account_detail", account_id=account_id))

