"""Staff web pages: login with lockout, logout, one's own password, the workbench."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.core.errors import DomainError, NotAuthenticated, ValidationFailed
from subsidy_app.error_pages import safe_next
from subsidy_app.form_errors import for_staff
from subsidy_app.http import limiter, runtime
from subsidy_app.identity import services
from subsidy_app.identity.domain import COUNTIES, ROLE_LABELS_ZH, Role
from subsidy_app.identity.models import Account

bp = Blueprint("identity_views", __name__)


@bp.route("/login", methods=["GET", "POST"])
@access(public=True, csrf=True)
@limiter.limit("20 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the login form and check a password."""
    back = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", error=None, username="", next=back)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    settings = runtime().settings
    try:
        with runtime().unit_of_work() as tx:
            principal = services.authenticate(tx, username=username, password=password,
                                              max_failures=settings.login_max_failures,
                                              lock_minutes=settings.login_lock_minutes)
    except NotAuthenticated as exc:
        return render_template("login.html", error=exc.message, username=username, next=back), 401
    session.clear()
    session.permanent = True
    session["account_id"] = principal.account_id
    current_app.logger.info("login ok: %s", principal.actor)
    if principal.must_change_password:  # a temporary password opens only the page to replace it
        return redirect(url_for("identity_views.password", next=back))
    return redirect(back or url_for("identity_views.workbench"))  # back to the page that asked for a login


@bp.route("/logout", methods=["POST"])
@access(*tuple(Role))
def logout() -> ResponseReturnValue:
    """End the session."""
    session.clear()
    return redirect(url_for("home.index"))


PASSWORD_LABELS = {"current_password": "当前密码", "new_password": "新密码", "confirm_password": "再次输入新密码"}


@bp.route("/account/password", methods=["GET", "POST"])
@access(*tuple(Role))
def password() -> ResponseReturnValue:
    """Let a staff member choose their own password (the only page a temporary password opens)."""
    principal = current_principal()
    back = safe_next(request.values.get("next"))
    shown = {"labels": PASSWORD_LABELS, "next": back, "min_length": services.MIN_PASSWORD_LENGTH,
             "must_change": principal.must_change_password}
    if request.method == "GET":
        return render_template("identity/password.html", error=None, **shown)
    new = request.form.get("new_password", "")
    try:
        if new != request.form.get("confirm_password", ""):
            raise ValidationFailed.field("confirm_password", "两次输入的新密码不一致 / the two new passwords differ")
        with runtime().unit_of_work() as tx:
            assert principal.account_id is not None  # staff roles only
            services.change_password(tx, account_id=principal.account_id,
                                     current_password=request.form.get("current_password", ""), new_password=new)
            tx.commit()
    except DomainError as exc:
        return render_template("identity/password.html", error=for_staff(exc, labels=PASSWORD_LABELS),
                               **shown), exc.status
    flash("密码已修改 / password changed", "ok")
    return redirect(back or url_for("identity_views.workbench"))


@bp.route("/staff")
@access(*tuple(Role))
def workbench() -> ResponseReturnValue:
    """Show the staff member's workbench."""
    principal = current_principal()
    with runtime().unit_of_work() as tx:
        account = tx.session.get(Account, principal.account_id)
        assert account is not None
        return render_template(
            "staff.html", account=account, organisation=account.organisation,
            roles=[ROLE_LABELS_ZH[r] for r in sorted(principal.roles)],
            counties=[COUNTIES[c] for c in sorted(principal.counties)], all_counties=principal.all_counties,
        )
