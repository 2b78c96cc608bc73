"""Residents' mobile pages: scan the dealer's QR, verify by SMS code, apply, get a receipt, follow the status."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from subsidy_app import form_errors, resident_steps
from subsidy_app.access import access, current_principal
from subsidy_app.applications import payments, queries, sales, submission
from subsidy_app.bodies import DOCUMENTS_LIMIT, body_limit
from subsidy_app.core.errors import DomainError
from subsidy_app.core.qr import read_token, render_png, sign_token
from subsidy_app.documents.services import store_document
from subsidy_app.http import limiter, runtime
from subsidy_app.identity.domain import COUNTIES
from subsidy_app.rules.services import version_cache

bp = Blueprint("resident", __name__, template_folder="templates")
STATUS_PURPOSE = "application-status"
DOCUMENT_FIELDS = [
    ("id_card", "身份证(正反面)", True),
    ("scrap_certificate", "报废机动车回收证明(第五联)", False),
    ("deregistration_certificate", "机动车注销证明", False),
    ("vehicle_invoice", "新车机动车销售统一发票", True),
    ("registration_certificate", "新车机动车登记证书", True),
    ("bank_card", "本人一类银行卡", True),
]
DOCUMENT_LABELS = {kind: label for kind, label, _required in DOCUMENT_FIELDS}
CARD_FIELD = {"bank_card": "bank_card_number"}  # identity.persons names the card as the API does
CARD_LABELS = {"bank_card_number": "银行卡号", "bank_name": "开户银行"}


def status_url(status_code: str) -> str:
    """Return the signed URL of an application's status page (what the receipt's QR code holds)."""
    settings = runtime().settings
    token = sign_token(settings.secret_key, STATUS_PURPOSE, {"c": status_code}, max_age_days=730)
    return f"{settings.public_base_url}/m/s/{token}"


def _status_code(token: str) -> str:
    return str(read_token(runtime().settings.secret_key, STATUS_PURPOSE, token).get("c", ""))


def _errors(exc: DomainError) -> dict[str, Any]:
    return form_errors.for_resident(exc, aliases=CARD_FIELD)


def _car_sale(token: str, *, applied_ok: bool = False) -> sales.SaleView:
    """The sale a QR names; with `applied_ok` an expired QR of a sale already applied for, to reach its progress."""
    with runtime().unit_of_work() as tx:
        return sales.sale_for_token(tx, secret_key=runtime().settings.secret_key, token=token, applied_ok=applied_ok)


_applied_sale = partial(_car_sale, applied_ok=True)


def _car_landing_page(token: str, form: dict[str, str], error: DomainError | None = None) -> ResponseReturnValue:
    page = render_template("applications/car_landing.html", sale=_applied_sale(token), token=token, pending=form,
                           error=_errors(error) if error else None)
    return page, error.status if error else 200


@bp.route("/m/car/<token>")
@access(public=True)
@limiter.limit("60 per minute")
def car_landing(token: str) -> ResponseReturnValue:
    """Show the sale the QR code was issued for and ask who is applying."""
    _applied_sale(token)
    if current_principal().kind == "resident":
        return redirect(url_for("resident.car_apply", token=token))
    return _car_landing_page(token, session.get("pending_identity", {}))


@bp.route("/m/car/<token>/code", methods=["POST"])
@access(public=True, csrf=True)
@limiter.limit("10 per minute")
def send_code(token: str) -> ResponseReturnValue:
    """Send a one-time code to the phone the resident entered."""
    return resident_steps.send_code(check=partial(_applied_sale, token), page=partial(_car_landing_page, token),
                                    back=url_for("resident.car_landing", token=token))


@bp.route("/m/car/<token>/verify", methods=["POST"])
@access(public=True, csrf=True)
@limiter.limit("20 per minute")
def verify(token: str) -> ResponseReturnValue:
    """Check the code; the resident is then known by their ID number for this session."""
    return resident_steps.verify(
        check=partial(_applied_sale, token), page=partial(_car_landing_page, token),
        then=lambda _sale, resident: resident_steps.sign_in(resident, url_for("resident.car_apply", token=token)))


def _apply_page(token: str, sale: sales.SaleView, form: dict[str, str], error: dict[str, Any] | None,
                status: int = 200, own: queries.OwnApplication | None = None) -> ResponseReturnValue:
    own_url = _status_path(own.status_code) if own else None
    return render_template("applications/car_apply.html", sale=sale, token=token, form=form, error=error,
                           counties=COUNTIES, documents=DOCUMENT_FIELDS, own=own, own_url=own_url), status


def _status_path(status_code: str) -> str:
    return status_url(status_code).replace(runtime().settings.public_base_url, "")


# Refusals that may be the resident's own live application holding the certificate or the new car.
_HELD = frozenset({"certificate.already_used", "vehicle.already_subsidised"})


def _own_application(person_id: int, sale: sales.SaleView, certificate_number: str | None
                     ) -> queries.OwnApplication | None:
    with runtime().unit_of_work() as tx:
        return queries.own_live_application(tx, person_id=person_id, new_vin=sale.new_vin,
                                            certificate_number=certificate_number)


@bp.route("/m/car/<token>/apply", methods=["GET", "POST"])
@access(resident=True, csrf=True)
@body_limit(DOCUMENTS_LIMIT)
@limiter.limit("30 per minute", methods=["POST"])
def car_apply(token: str) -> ResponseReturnValue:
    """Show the application form; submit it with the documents, bank card and consent."""
    person_id = current_principal().person_id
    assert person_id is not None
    sale = _car_sale(token, applied_ok=request.method == "GET")
    form = {k: request.form.get(k, "").strip() for k in ("programme", "county_code", "certificate_number",
                                                         "old_vin", "bank_card_number", "bank_name")}
    if request.method == "GET":
        own = _own_application(person_id, sale, None)
        if own is not None:  # her application for this car (paid, say): the sale's QR shows its progress
            return redirect(_status_path(own.status_code))
        _car_sale(token)  # an expired QR opens no new form
        return _apply_page(token, sale, {"county_code": sale.county_code, "programme": "car_scrap"}, None)
    uploads = [(kind, f.filename or kind, f.read()) for kind, _label, _req in DOCUMENT_FIELDS
               for f in request.files.getlist(kind) if f and f.filename]
    data = submission.CarApplicationInput(
        programme=form["programme"], county_code=form["county_code"], certificate_number=form["certificate_number"],
        old_vin=form["old_vin"] or None, bank_card_number=form["bank_card_number"], bank_name=form["bank_name"],
        consent=request.form.get("consent") == "yes")
    try:
        with runtime().unit_of_work() as tx:
            done = submission.submit_car_application(tx, sale=sale, person_id=person_id, data=data,
                                                     versions=version_cache().versions(tx), actor=f"person:{person_id}",
                                                     uploads=uploads)
            tx.commit()
    except DomainError as exc:
        own = None
        if exc.reason in _HELD:
            scrap = data.programme == "car_scrap"  # only scrap-renewal names a certificate
            own = _own_application(person_id, sale, data.certificate_number if scrap else None)
        return _apply_page(token, sale, form, None if own else _errors(exc), exc.status, own=own)
    return redirect(_status_path(done.status_code) + "?receipt=1")


@bp.route("/m/s/<token>")
@access(public=True)
@limiter.limit("60 per minute")
def status(token: str) -> ResponseReturnValue:
    """Show where an application stands, why, and what to correct."""
    with runtime().unit_of_work() as tx:
        view = queries.resident_status(tx, status_code=_status_code(token))
    principal = current_principal()
    owner = principal.kind == "resident" and principal.person_id == view["person_id"]
    return render_template("applications/status.html", view=view, token=token, owner=owner,
                           receipt=request.args.get("receipt") == "1", documents=DOCUMENT_FIELDS, error=None)


@bp.route("/m/s/<token>/qr.png")
@access(public=True)
def status_qr(token: str) -> Response:
    """The receipt's QR code: the status page's signed URL."""
    _status_code(token)
    return Response(render_png(f"{runtime().settings.public_base_url}/m/s/{token}"), mimetype="image/png")


@bp.route("/m/s/<token>/resubmit", methods=["POST"])
@access(resident=True, csrf=True)
@body_limit(DOCUMENTS_LIMIT)
def resubmit(token: str) -> ResponseReturnValue:
    """Send a returned application back with the corrected documents."""
    person_id = current_principal().person_id
    assert person_id is not None
    try:
        with runtime().unit_of_work() as tx:
            app = queries.application_by_status_code(tx, status_code=_status_code(token))
            for kind, _label, _req in DOCUMENT_FIELDS:
                for f in request.files.getlist(kind):
                    if f and f.filename:
                        store_document(tx, actor=f"person:{person_id}", kind=kind, filename=f.filename,
                                       data=f.read(), owner_ref=f"application:{app.number}")
            submission.resubmit(tx, application_id=app.id, person_id=person_id, actor=f"person:{person_id}")
            tx.commit()
    except DomainError as exc:
        flash(form_errors.resident_line(exc, labels=DOCUMENT_LABELS), "error")
    return redirect(url_for("resident.status", token=token))


@bp.route("/m/s/<token>/card", methods=["POST"])
@access(resident=True, csrf=True)
def correct_card(token: str) -> ResponseReturnValue:
    """Give a corrected bank card after the bank refused the first."""
    person_id = current_principal().person_id
    assert person_id is not None
    try:
        with runtime().unit_of_work() as tx:
            app = queries.application_by_status_code(tx, status_code=_status_code(token))
            payments.correct_bank_card(tx, application_id=app.id, person_id=person_id,
                                       card_number=request.form.get("bank_card_number", ""),
                                       bank_name=request.form.get("bank_name", ""), actor=f"person:{person_id}")
            tx.commit()
        flash("银行卡已更正,将在下一批次发放", "ok")
    except DomainError as exc:
        flash(form_errors.resident_line(exc, labels=CARD_LABELS, aliases=CARD_FIELD), "error")
    return redirect(url_for("resident.status", token=token))
