"""Web pages: the public certificate verification page and recycler clerks' intake and certificate forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from recycling import intake, issuing, sites
from recycling.domain import CATEGORIES, SOURCE_LABELS
from subsidy_app.access import access, current_principal
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.core.limits import LARGEST_WEIGHT, MAX_ID
from subsidy_app.core.text import checked_text
from subsidy_app.http import limiter, runtime, uow
from subsidy_app.identity.domain import Role

bp = Blueprint("recycling_views", __name__, template_folder="templates")
CLERK = Role.RECYCLER_CLERK


def _public_limit() -> str:
    return runtime().settings.public_rate_limit


@bp.route("/verify/certificate/<token>")
@access(public=True)
@limiter.limit(_public_limit)
def verify_certificate(token: str) -> ResponseReturnValue:
    """Show whether a scrap certificate is genuine, its state and masked details."""
    settings = runtime().settings
    try:
        with uow() as tx:
            found = issuing.verify_public(tx, token=token, secret_key=settings.secret_key)
    except DomainError as exc:
        return render_template("recycling/verify.html", certificate=None, reason=exc.reason), \
            404 if exc.status == 404 else 400
    return render_template("recycling/verify.html", certificate=found, reason=None)


def _decimal(name: str) -> Decimal:
    try:
        value = Decimal(request.form.get(name, "").strip())
    except InvalidOperation:
        raise ValidationFailed.field(name, "应为数字 / must be a number") from None
    if not value.is_finite() or abs(value) > LARGEST_WEIGHT:  # shown on the form, not as the API's JSON error
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def _date(name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise ValidationFailed.field(name, "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD") from None


def _int(name: str) -> int:
    try:
        value = int(request.form.get(name, "").strip())
    except ValueError:
        raise ValidationFailed.field(name, "应为整数 / must be a whole number") from None
    if abs(value) > MAX_ID:  # shown on the form, not as the API's JSON error
        raise ValidationFailed.field(name, "数值超出允许范围 / number out of range")
    return value


def _text(name: str) -> str:
    return checked_text(request.form.get(name), field=name, max_length=2000)


def _form_context() -> dict[str, Any]:
    with uow() as tx:
        own = sites.list_sites(tx, principal=current_principal())
    return {"sites": own, "categories": CATEGORIES, "sources": SOURCE_LABELS, "today": business_date(),
            "form": request.form}


@bp.route("/recycling/intake", methods=["GET", "POST"])
@access(CLERK)
def intake_form() -> ResponseReturnValue:
    """Record an intake through a form (mobile-friendly)."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            draft = intake.IntakeDraft(
                site_id=_int("site_id"), source=_text("source"),
                category=_text("category"), units=_int("units"), weight_kg=_decimal("weight_kg"),
                occurred_on=_date("occurred_on"), trade_in_ref=_text("trade_in_ref") or None,
                note=_text("note"))
            with uow() as tx:
                new_id = intake.record_intake(tx, actor=current_principal().actor,
                                              acting_org_id=current_principal().organisation_id, draft=draft)
                tx.commit()
            flash(f"已登记回收记录 #{new_id}", "ok")
            return redirect(url_for("recycling_views.intake_form"))
        except DomainError as exc:
            errors = exc.errors or {"_": [exc.message]}
    return render_template("recycling/intake_form.html", errors=errors, **_form_context()), 422 if errors else 200


_CERT_FIELDS = ("number", "owner_name", "owner_id_number", "phone", "address", "plate", "vehicle_type", "use_type",
                "make_model", "vin", "fuel_type", "engine_number", "battery_code")


@bp.route("/recycling/certificates/new", methods=["GET", "POST"])
@access(CLERK)
def certificate_form() -> ResponseReturnValue:
    """Issue a scrap certificate through a form, then show its QR code."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            values = {f: _text(f) or None for f in _CERT_FIELDS}
            draft = issuing.CertificateDraft(
                **{k: v or "" for k, v in values.items() if k not in ("phone", "address", "battery_code")},
                phone=values["phone"], address=values["address"], battery_code=values["battery_code"],
                handover_date=_date("handover_date"), first_registration_date=_date("first_registration_date"),
                curb_weight_kg=_decimal("curb_weight_kg"),
                site_id=_int("site_id") if request.form.get("site_id") else None)
            with uow() as tx:
                new_id = issuing.issue_certificate(tx, actor=current_principal().actor,
                                                   dismantler_org_id=current_principal().organisation_id or 0,
                                                   draft=draft)
                tx.commit()
            flash(f"已出具回收证明 {draft.number}", "ok")
            return redirect(url_for("recycling_views.certificate_page", certificate_id=new_id))
        except DomainError as exc:
            errors = exc.errors or {"_": [exc.message]}
    return render_template("recycling/certificate_form.html", errors=errors, fuel_types=issuing.FUEL_TYPES,
                           **_form_context()), 422 if errors else 200


@bp.route("/recycling/certificates/<int:certificate_id>")
@access(CLERK, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
def certificate_page(certificate_id: int) -> ResponseReturnValue:
    """Show a certificate with its QR code for printing."""
    with uow() as tx:
        view = issuing.certificate_view(tx, certificate_id=certificate_id, principal=current_principal())
    return render_template("recycling/certificate.html", certificate=view,
                           qr_url=f"/api/v1/recycling/certificates/{certificate_id}/qr.svg",
                           state_labels=issuing.STATE_LABELS)
