"""Staff web pages: login with lockout, logout, the workbench."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.core.errors import NotAuthenticated
from subsidy_app.error_pages import safe_next
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
    return redirect(back or url_for("identity_views.workbench"))  # back to the page that asked for a login


@bp.route("/logout", methods=["POST"])
@access(*tuple(Role))
def logout() -> ResponseReturnValue:
    """End the session."""
    session.clear()
    return redirect(url_for("home.index"))


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
