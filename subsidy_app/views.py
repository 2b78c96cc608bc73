"""Public landing page and health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from subsidy_app.access import access
from subsidy_app.http import runtime

bp = Blueprint("home", __name__)


@bp.route("/")
@access(public=True)
def index() -> ResponseReturnValue:
    """Show the landing page."""
    return render_template("home.html")


@bp.route("/favicon.ico")
@access(public=True)
def favicon() -> ResponseReturnValue:
    """The site's icon, for browsers that ask for it at the root."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.route("/healthz")
@access(public=True)
def health() -> ResponseReturnValue:
    """Report whether the database answers."""
    with runtime().unit_of_work() as tx:
        tx.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "jobs": "in-process" if runtime().settings.jobs_in_process else "celery"})
