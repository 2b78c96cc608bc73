"""Web pages: the public certificate verification page and recycler clerks' intake and certificate forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from recycling import form_input as f
from recycling import intake, issuing, sites
from recycling.domain import CATEGORIES, SOURCE_LABELS
from recycling.site_kinds import UNIT_WEIGHT_KG, categories_for, unit_weight_warning
from subsidy_app.access import access, current_principal
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, FieldErrors
from subsidy_app.form_errors import PageError, for_staff
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
    return f.decimal(request.form, name)


def _date(name: str) -> dt.date:
    return f.day(request.form, name)


def _int(name: str) -> int:
    return f.whole(request.form, name)


def _text(name: str) -> str:
    return f.text(request.form, name)


def _form_context() -> dict[str, Any]:
    with uow() as tx:
        own = sites.list_sites(tx, principal=current_principal())
    return {"sites": own, "categories": CATEGORIES, "sources": SOURCE_LABELS, "today": business_date(),
            "form": request.form}


def _intake_context() -> dict[str, Any]:
    """The intake form's choices: each site's categories (the chosen site's are listed) and the plausible weights."""
    context = _form_context()
    chosen = request.form.get("site_id", "")
    site = next((s for s in context["sites"] if str(s.id) == chosen), context["sites"][0] if context["sites"] else None)
    return {**context, "site_categories": {s.id: categories_for(s.kind) for s in context["sites"]},
            "offered": categories_for(site.kind) if site else [], "chosen_site": site.id if site else None,
            "unit_weights": {c: [str(low), str(high)] for c, (low, high) in UNIT_WEIGHT_KG.items()}}


INTAKE_LABELS = {"site_id": "回收网点", "source": "来源", "category": "品类", "units": "数量", "weight_kg": "重量",
                 "occurred_on": "日期", "trade_in_ref": "以旧换新单号", "note": "备注"}
CERT_LABELS = {
    "number": "证明编号", "owner_name": "车主姓名/单位名称", "owner_id_number": "车主身份证号码", "phone": "联系电话",
    "address": "住址", "handover_date": "交车日期", "first_registration_date": "初次登记日期", "plate": "号牌号码",
    "vehicle_type": "车辆类型", "use_type": "使用性质", "make_model": "品牌型号", "vin": "车辆识别代号",
    "curb_weight_kg": "整备质量", "fuel_type": "燃料种类", "engine_number": "发动机号码",
    "battery_code": "动力蓄电池编码", "site_id": "拆解场地",
}
UNPLACED_LABELS = {"owner_kind": "车主类型"}  # judged from the ID number field; not a field of the form


@bp.route("/recycling/intake", methods=["GET", "POST"])
@access(CLERK)
def intake_form() -> ResponseReturnValue:
    """Record an intake through a form (mobile-friendly); every bad field is shown beside it, named."""
    error: PageError | None = None
    if request.method == "POST":
        try:
            read = FieldErrors()
            draft = intake.IntakeDraft(
                site_id=read.value(partial(_int, "site_id"), 0), source=read.value(partial(_text, "source"), ""),
                category=read.value(partial(_text, "category"), ""), units=read.value(partial(_int, "units"), 0),
                weight_kg=read.value(partial(_decimal, "weight_kg"), Decimal(0)),
                occurred_on=read.value(partial(_date, "occurred_on"), dt.date.min),
                trade_in_ref=read.value(partial(_text, "trade_in_ref"), "") or None,
                note=read.value(partial(_text, "note"), ""))
            read.raise_any()
            with uow() as tx:
                new_id = intake.record_intake(tx, actor=current_principal().actor,
                                              acting_org_id=current_principal().organisation_id, draft=draft)
                tx.commit()
            flash(f"已登记回收记录 #{new_id}", "ok")
            warning = unit_weight_warning(draft.category, draft.units, draft.weight_kg)
            if warning:  # recorded all the same: the clerk checks it and corrects the record if it was a slip
                flash(f"回收记录 #{new_id} {warning};如有误请更正该记录。", "warn")
            return redirect(url_for("recycling_views.intake_form"))
        except DomainError as exc:
            error = for_staff(exc, labels=INTAKE_LABELS)
    return render_template("recycling/intake_form.html", error=error, labels=INTAKE_LABELS,
                           **_intake_context()), 422 if error else 200


_CERT_FIELDS = ("number", "owner_name", "owner_id_number", "phone", "address", "plate", "vehicle_type", "use_type",
                "make_model", "vin", "fuel_type", "engine_number", "battery_code")


@bp.route("/recycling/certificates/new", methods=["GET", "POST"])
@access(CLERK)
def certificate_form() -> ResponseReturnValue:
    """Issue a scrap certificate through a form, then show its QR code; every bad field is shown beside it."""
    error: PageError | None = None
    if request.method == "POST":
        try:
            read = FieldErrors()
            values = {f: read.value(partial(_text, f), "") or None for f in _CERT_FIELDS}
            draft = issuing.CertificateDraft(
                **{k: v or "" for k, v in values.items() if k not in ("phone", "address", "battery_code")},
                phone=values["phone"], address=values["address"], battery_code=values["battery_code"],
                handover_date=read.value(partial(_date, "handover_date"), dt.date.min),
                first_registration_date=read.value(partial(_date, "first_registration_date"), dt.date.min),
                curb_weight_kg=read.value(partial(_decimal, "curb_weight_kg"), Decimal(0)),
                site_id=read.value(partial(_int, "site_id"), None) if request.form.get("site_id") else None)
            read.raise_any()
            with uow() as tx:
                new_id = issuing.issue_certificate(tx, actor=current_principal().actor,
                                                   dismantler_org_id=current_principal().organisation_id or 0,
                                                   draft=draft)
                tx.commit()
            flash(f"已出具回收证明 {draft.number}", "ok")
            return redirect(url_for("recycling_views.certificate_page", certificate_id=new_id))
        except DomainError as exc:
            error = for_staff(exc, labels={**CERT_LABELS, **UNPLACED_LABELS})
    return render_template("recycling/certificate_form.html", error=error, labels=CERT_LABELS,
                           fuel_types=issuing.FUEL_TYPES, **_form_context()), 422 if error else 200


@bp.route("/recycling/certificates/<int:certificate_id>")
@access(CLERK, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
def certificate_page(certificate_id: int) -> ResponseReturnValue:
    """Show a certificate with its QR code for printing."""
    with uow() as tx:
        view = issuing.certificate_view(tx, certificate_id=certificate_id, principal=current_principal())
    return render_template("recycling/certificate.html", certificate=view,
                           qr_url=f"/api/v1/recycling/certificates/{certificate_id}/qr.svg",
                           state_labels=issuing.STATE_LABELS)
