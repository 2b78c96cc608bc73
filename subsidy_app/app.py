"""Composition root: create_app(config=None) wires configuration, database, jobs, API and every package."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from subsidy_app import access, http, idempotency
from subsidy_app.config import Settings, load_settings
from subsidy_app.core import clock, numbers
from subsidy_app.core.personal_data import PersonalDataLogFilter
from subsidy_app.runtime import Runtime, build_runtime


def register_jobs() -> None:
    """Import every package's job handlers so the registry knows them."""
    import recycling.tasks  # noqa: F401
    import reverse_invoice.tasks  # noqa: F401
    import subsidy_app.appliances.tasks
    import subsidy_app.applications.tasks
    import subsidy_app.audit.tasks
    import subsidy_app.messaging.tasks
    import subsidy_app.oversight.complaint_tasks
    import subsidy_app.retention
    import subsidy_app.rules.demo
    import subsidy_app.vehicles.demo  # noqa: F401


def _settings_from(config: Settings | dict[str, Any] | None) -> tuple[Settings, dict[str, Any]]:
    if isinstance(config, Settings):
        return config, {}
    overrides = dict(config or {})
    runtime_overrides: dict[str, Any] = {
        k: overrides.pop(k) for k in ("session_factory", "dispatcher_factory") if k in overrides
    }
    settings = load_settings()
    if overrides:
        settings = settings.with_overrides(**overrides)
    return settings, runtime_overrides


def _dispatcher_factory(settings: Settings) -> Any:
    if settings.jobs_in_process:
        return None
    from subsidy_app.broker import CeleryDispatcher, make_celery

    # The web process only publishes (send_task by name), so it needs no task registrations.
    return lambda rt: CeleryDispatcher(make_celery(settings), rt.session_factory)


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Create the Flask application; `config` overrides environment settings (tests pass a dict)."""
    settings, runtime_overrides = _settings_from(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        # Every routed request gets its own limit (subsidy_app.bodies); this covers anything else that reads one.
        MAX_CONTENT_LENGTH=settings.json_body_max_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
        RATELIMIT_ENABLED=settings.extra.get("rate_limits", settings.rate_limits_enabled),
        **http.rate_limit_config(settings.rate_limit_storage),
        JSON_AS_ASCII=False,
    )
    if settings.trusted_proxy_count:
        # The client is the address the nearest trusted proxy reports; headers set before it are the client's own.
        n = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    dispatcher_factory = runtime_overrides.get("dispatcher_factory") or _dispatcher_factory(settings)
    runtime: Runtime = build_runtime(
        settings, session_factory=runtime_overrides.get("session_factory"), dispatcher_factory=dispatcher_factory
    )
    app.extensions["subsidy"] = runtime
    configure_escrow(settings)
    _install_log_masking()
    register_jobs()
    access.init_app(app)
    api = http.init_app(app)
    app.before_request(http.check_idempotent_replay)
    _register_blueprints(app, api)
    app.add_template_filter(clock.beijing_time, "beijing")  # pages show Beijing time; instants are stored in UTC
    app.add_template_filter(numbers.number_str, "number")  # quantities and rates in fixed notation, never 2.48E+3
    app.add_template_global(idempotency.new_form_key, "form_key")  # a double submission shows the first result
    app.context_processor(_staff_menu)
    _declare_framework_endpoints(app)
    from subsidy_app.cli import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: Flask, api: http.Api) -> None:
    from subsidy_app.api_docs import bp as api_docs_assets
    from subsidy_app.applications.api import blp as applications_api
    from subsidy_app.applications.views import bp as resident_views
    from subsidy_app.audit.api import blp as audit_api
    from subsidy_app.identity.api import blp as identity_api
    from subsidy_app.identity.views import bp as identity_views
    from subsidy_app.jobs_api import blp as jobs_api
    from subsidy_app.rules.api import blp as rules_api
    from subsidy_app.views import bp as home_views

    for blueprint in (identity_api, audit_api, jobs_api, rules_api, applications_api):
        api.register_blueprint(blueprint)
    app.register_blueprint(api_docs_assets)
    from subsidy_app.appliances.api import blp as appliances_api
    from subsidy_app.appliances.api_sales import blp as appliance_sales_api
    from subsidy_app.appliances.dealer_books import bp as appliance_dealer_books
    from subsidy_app.appliances.dealer_pages import bp as appliance_dealer_pages
    from subsidy_app.appliances.views import bp as appliance_resident_views

    api.register_blueprint(appliances_api)
    api.register_blueprint(appliance_sales_api)
    app.register_blueprint(appliance_resident_views)
    app.register_blueprint(appliance_dealer_pages)
    app.register_blueprint(appliance_dealer_books)
    app.register_blueprint(identity_views)
    app.register_blueprint(home_views)
    app.register_blueprint(resident_views)
    from subsidy_app.applications import dealer_views, finance_views, review_views

    for staff_pages in (dealer_views.bp, review_views.bp, finance_views.bp):
        app.register_blueprint(staff_pages)
    from subsidy_app.documents.views import bp as document_views

    app.register_blueprint(document_views)
    from subsidy_app.messaging.api import blp as messaging_api
    from subsidy_app.messaging.views import bp as messaging_views

    api.register_blueprint(messaging_api)
    app.register_blueprint(messaging_views)
    from subsidy_app.vehicles.api import blp as vehicles_api

    api.register_blueprint(vehicles_api)
    from recycling.api import blp as recycling_api
    from recycling.api_recovery import blp as recovery_api
    from recycling.views import bp as recycling_views

    api.register_blueprint(recycling_api)
    api.register_blueprint(recovery_api)
    app.register_blueprint(recycling_views)
    from reverse_invoice.api import blp as reverse_invoice_api
    from reverse_invoice.api_invoices import blp as reverse_invoice_documents_api
    from reverse_invoice.views import bp as reverse_invoice_views

    api.register_blueprint(reverse_invoice_api)
    api.register_blueprint(reverse_invoice_documents_api)
    app.register_blueprint(reverse_invoice_views)
    from reverse_invoice.pages import bp as reverse_invoice_pages
    from reverse_invoice.pages_filing import bp as reverse_invoice_filing_pages

    app.register_blueprint(reverse_invoice_pages)
    app.register_blueprint(reverse_invoice_filing_pages)
    from subsidy_app.oversight.complaint_api import blp as complaint_api
    from subsidy_app.oversight.complaint_pages import bp as complaint_pages

    api.register_blueprint(complaint_api)
    app.register_blueprint(complaint_pages)
    from subsidy_app.dashboard.views import bp as dashboard_views

    app.register_blueprint(dashboard_views)
    from recycling.portal_views import bp as recycling_portal

    app.register_blueprint(recycling_portal)
    from recycling.recovery_pages import bp as recovery_pages
    from subsidy_app.audit.pages import bp as audit_pages
    from subsidy_app.identity.admin_pages import bp as account_pages
    from subsidy_app.rules.rule_pages import bp as rule_pages

    for bureau_pages in (rule_pages, recovery_pages, audit_pages, account_pages):
        app.register_blueprint(bureau_pages)
    from subsidy_app.appliances.bureau_pages import bp as appliance_bureau_pages
    from subsidy_app.rules.budget_pages import bp as budget_pages

    app.register_blueprint(budget_pages)
    app.register_blueprint(appliance_bureau_pages)
    from subsidy_app.oversight.spot_api import blp as spot_api
    from subsidy_app.oversight.spot_pages import bp as spot_pages

    api.register_blueprint(spot_api)
    app.register_blueprint(spot_pages)
    from subsidy_app.oversight.review_api import blp as oversight_review_api
    from subsidy_app.oversight.review_pages import bp as oversight_review_pages

    api.register_blueprint(oversight_review_api)
    app.register_blueprint(oversight_review_pages)


def configure_escrow(settings: Settings) -> None:
    """Give each budget pool the number of escrow tranches the settings ask for (the worker calls it too)."""
    from subsidy_app.rules import escrow

    escrow.configure(tranches=settings.budget_tranches)


def _staff_menu() -> dict[str, Any]:
    """The menu of the signed-in staff member's roles, for the layout (nothing for residents and visitors)."""
    from flask import g, request, url_for

    from subsidy_app.menu import menu_for, trail_for

    principal = g.get("principal")
    if principal is None or principal.kind != "staff" or principal.must_change_password:
        return {"staff_menu": [], "staff_trail": []}  # a temporary password opens no page but its own change
    return {"staff_menu": menu_for(principal, url_for), "staff_trail": trail_for(principal, url_for, request.path)}


def _declare_framework_endpoints(app: Flask) -> None:
    """Mark the endpoints Flask and flask-smorest add themselves (static files, OpenAPI docs) as public."""
    for endpoint, view in app.view_functions.items():
        if endpoint == "static" or endpoint.startswith("api-docs."):
            app.view_functions[endpoint] = access.access(public=True)(_wrap(view))


def _wrap(view: Any) -> Any:
    def public_view(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    public_view.__name__ = getattr(view, "__name__", "public_view")
    public_view.__doc__ = getattr(view, "__doc__", None)
    return public_view


def _install_log_masking() -> None:
    """Mask ID and card numbers in every log record, whichever handler later writes it."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_personal_data", False):
        return
    log_filter = PersonalDataLogFilter()

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        log_filter.filter(record)
        return record

    masking_factory.masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
