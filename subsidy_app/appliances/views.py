"""Residents' appliance pages: claim after purchase from the receipt QR, confirm identity from the store poster."""

from __future__ import annotations

import base64
import datetime as dt
from functools import partial
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from subsidy_app import form_errors, resident_steps
from subsidy_app.access import access, current_principal
from subsidy_app.appliances import buyer as buyers
from subsidy_app.appliances import claims, fraud, participation, poster
from subsidy_app.applications.views import CARD_FIELD, status_url
from subsidy_app.core.clock import beijing_now
from subsidy_app.core.errors import Conflict, DomainError
from subsidy_app.core.qr import read_printed, read_token, render_png
from subsidy_app.http import limiter, runtime
from subsidy_app.identity.residents import Resident
from subsidy_app.rules.services import version_cache

bp = Blueprint("appliance_resident", __name__, template_folder="templates")


@bp.errorhandler(DomainError)
def _error_page(exc: DomainError) -> ResponseReturnValue:
    """Answer a resident's bad or expired QR code, or a refused step, with a Chinese page rather than JSON."""
    return render_template("appliances/error.html", message=form_errors.resident_line(exc, labels={})), exc.status


def _errors(exc: DomainError | None) -> dict[str, Any] | None:
    """Describe a refused step for the page in Chinese, each message beside its field (the car pages' shape)."""
    return form_errors.for_resident(exc, aliases=CARD_FIELD) if exc else None


def _code(token: str, purpose: str) -> str:
    return str(read_token(runtime().settings.secret_key, purpose, token).get("c", ""))


def _receipt(token: str) -> claims.ReceiptView:
    with runtime().unit_of_work() as tx:
        return claims.receipt(tx, apply_code=_code(token, claims.RECEIPT_PURPOSE))


def _landing(token: str, form: dict[str, str], error: DomainError | None = None) -> ResponseReturnValue:
    page = render_template("appliances/claim_landing.html", sale=_receipt(token), token=token, pending=form,
                           names=poster.CATEGORY_ZH, error=_errors(error))
    return page, error.status if error else 200


@bp.route("/m/appliance/<token>")
@access(public=True)
@limiter.limit("60 per minute")
def claim_landing(token: str) -> ResponseReturnValue:
    """Show the purchase the receipt QR names and ask who is claiming."""
    sale = _receipt(token)
    principal = current_principal()
    if principal.kind == "resident" and sale.claim_status_code and sale.claimant_id == principal.person_id:
        return _receipt_page(sale.claim_status_code, receipt=False)  # the claimant scans again: show progress
    if principal.kind == "resident" and sale.claimable:
        return redirect(url_for("appliance_resident.claim_apply", token=token))
    return _landing(token, session.get("pending_identity", {}))


@bp.route("/m/appliance/<token>/qr.png")
@access(public=True)
@limiter.limit("60 per minute")
def claim_qr(token: str) -> Response:
    """The receipt's QR code, for the till to print: the claim page's signed URL."""
    _code(token, claims.RECEIPT_PURPOSE)
    return Response(render_png(f"{runtime().settings.public_base_url}/m/appliance/{token}"), mimetype="image/png")


@bp.route("/m/appliance/<token>/code", methods=["POST"])
@access(public=True, csrf=True)
@limiter.limit("10 per minute")
def claim_code(token: str) -> ResponseReturnValue:
    """Send a one-time code to the phone the resident entered."""
    return resident_steps.send_code(check=partial(_receipt, token), page=partial(_landing, token),
                                    back=url_for("appliance_resident.claim_landing", token=token))


@bp.route("/m/appliance/<token>/verify", methods=["POST"])
@access(public=True, csrf=True)
@limiter.limit("20 per minute")
def claim_verify(token: str) -> ResponseReturnValue:
    """Check the code; the resident is then known by their ID number for this session."""
    return resident_steps.verify(
        check=partial(_receipt, token), page=partial(_landing, token),
        then=lambda _sale, resident: resident_steps.sign_in(
            resident, url_for("appliance_resident.claim_apply", token=token)))


def _apply_page(token: str, sale: claims.ReceiptView, form: dict[str, str], error: DomainError | None
                ) -> ResponseReturnValue:
    page = render_template("appliances/claim_apply.html", sale=sale, token=token, form=form,
                           names=poster.CATEGORY_ZH, error=_errors(error))
    return page, error.status if error else 200


def _own_claim(sale: claims.ReceiptView, person_id: int) -> str | None:
    """A second tap on submit finds the resident's own claim, which the page then shows instead of an error."""
    with runtime().unit_of_work() as tx:
        return claims.live_claim(tx, sale_id=sale.sale_id, person_id=person_id)


@bp.route("/m/appliance/<token>/apply", methods=["GET", "POST"])
@access(resident=True, csrf=True)
@limiter.limit("30 per minute", methods=["POST"])
def claim_apply(token: str) -> ResponseReturnValue:
    """Show the claim form; submit it with the bank card and consent."""
    person_id = current_principal().person_id
    assert person_id is not None
    sale = _receipt(token)
    form = {k: request.form.get(k, "").strip() for k in ("bank_card_number", "bank_name")}
    if request.method == "GET":
        return _apply_page(token, sale, form, None)
    data = claims.ClaimInput(bank_card_number=form["bank_card_number"], bank_name=form["bank_name"],
                             consent=request.form.get("consent") == "yes")
    settings = runtime().settings
    try:
        with runtime().unit_of_work() as tx:
            done = claims.claim(tx, apply_code=_code(token, claims.RECEIPT_PURPOSE), person_id=person_id, data=data,
                                versions=version_cache().versions(tx), limits=fraud.thresholds(settings),
                                actor=f"person:{person_id}")
            tx.commit()
    except DomainError as exc:
        own = _own_claim(sale, person_id) if exc.reason == "sale.already_claimed" else None
        return _receipt_page(own) if own else _apply_page(token, sale, form, exc)
    return _receipt_page(done.status_code)


def _receipt_page(status_code: str, *, receipt: bool = True) -> ResponseReturnValue:
    """Send the resident to the status page, shown as the receipt after submitting (the car path's page)."""
    path = status_url(status_code).replace(runtime().settings.public_base_url, "")
    return redirect(path + "?receipt=1" if receipt else path)


def _store(token: str) -> tuple[participation.StoreView, participation.PosterStanding]:
    # A poster hangs for the whole programme: its code never expires (older posters' expiring codes included);
    # the bureau revokes it by suspending the store.
    poster_code = read_printed(runtime().settings.secret_key, poster.POSTER_PURPOSE, token,
                               formerly_expiring=True).get("c", "")
    with runtime().unit_of_work() as tx:
        store = participation.store_for_poster(tx, poster_code=str(poster_code))
        return store, participation.poster_standing(tx, store_id=store.id)


def _open_store(token: str) -> participation.StoreView:
    """Return the poster's store for a buyer's identity step; refused while the store is suspended."""
    store, standing = _store(token)
    if standing.revoked:
        raise Conflict("本店以旧换新补贴资格已暂停,暂不能办理 / this store's subsidy is suspended",
                       reason="store.suspended")
    return store


def _store_page(token: str, form: dict[str, str], error: DomainError | None = None) -> ResponseReturnValue:
    store, standing = _store(token)
    page = render_template("appliances/store_landing.html", store=store, token=token, pending=form,
                           categories=[poster.CATEGORY_ZH.get(c, c) for c in standing.approved],
                           suspended=[poster.CATEGORY_ZH.get(c, c) for c in standing.suspended],
                           revoked=standing.revoked, standard=poster.STANDARD_ZH, error=_errors(error))
    return page, error.status if error else 200


@bp.route("/m/store/<token>")
@access(public=True)
@limiter.limit("60 per minute")
def store_landing(token: str) -> ResponseReturnValue:
    """Show the store and the subsidy standard, and ask the buyer to confirm who they are."""
    return _store_page(token, session.get("pending_identity", {}))


@bp.route("/m/store/<token>/code", methods=["POST"])
@access(public=True, csrf=True)
@limiter.limit("10 per minute")
def store_code(token: str) -> ResponseReturnValue:
    """Send a one-time code to the buyer's phone."""
    return resident_steps.send_code(check=partial(_open_store, token), page=partial(_store_page, token),
                                    back=url_for("appliance_resident.store_landing", token=token))


@bp.route("/m/store/<token>/verify", methods=["POST"])
@access(public=True, csrf=True)
@limiter.limit("20 per minute")
def store_verify(token: str) -> ResponseReturnValue:
    """Check the code and give the buyer a confirmation the till accepts at this store for half an hour."""
    return resident_steps.verify(check=partial(_open_store, token), page=partial(_store_page, token),
                                 then=partial(_confirm_buyer, token))


def _confirm_buyer(token: str, store: participation.StoreView, buyer: Resident) -> ResponseReturnValue:
    """Hold the signed confirmation in the session and show it (the buyer stays anonymous: no resident login)."""
    confirmation = buyers.confirmation_token(runtime().settings.secret_key, person_id=buyer.person_id,
                                             store_id=store.id, phone_hash=buyer.phone_hash)
    until = beijing_now() + dt.timedelta(seconds=buyers.CONFIRM_SECONDS)
    session.pop("pending_identity", None)
    session["buyer_confirmation"] = {"store": store.id, "token": confirmation, "until": until.strftime("%H:%M")}
    return redirect(url_for("appliance_resident.store_confirmed", token=token))


@bp.route("/m/store/<token>/confirmed")
@access(public=True)
@limiter.limit("60 per minute")
def store_confirmed(token: str) -> ResponseReturnValue:
    """Show the confirmation for the clerk to scan at the till (a signed token, also as a QR code)."""
    store, _standing = _store(token)
    held = session.get("buyer_confirmation") or {}
    if held.get("store") != store.id:
        flash("请先验证身份 / please confirm your identity first", "error")
        return redirect(url_for("appliance_resident.store_landing", token=token))
    image = base64.b64encode(render_png(held["token"], box_size=6)).decode()
    return render_template("appliances/store_confirmed.html", store=store, confirmation=held["token"],
                           until=held["until"], qr_data=image)
