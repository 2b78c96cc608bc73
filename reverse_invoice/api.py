"""Reverse-invoicing API: recyclers, sellers and consent, purchases, invoices and reversals, filings."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from flask import Response
from flask.views import MethodView

from reverse_invoice import invoices, purchases, recyclers, reversals, sellers, statements
from reverse_invoice import schemas as s
from subsidy_app.access import access, current_principal
from subsidy_app.bodies import Blueprint
from subsidy_app.core.errors import Forbidden
from subsidy_app.http import answer, uow
from subsidy_app.identity.domain import Role

blp = Blueprint("reverse_invoice", __name__, url_prefix="/api/v1/reverse-invoice",
                description="反向开票与代办税费 / reverse invoicing and taxes filed on sellers' behalf")
CLERK = Role.RECYCLER_CLERK
READERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.FINANCE_OFFICER)
_ID_OUT, _ISSUE_OUT = s.RiIdOut(), s.RiIssueOut()


def month_param(value: str | None) -> dt.date | None:
    """Turn YYYY-MM into the month's first day."""
    return dt.date.fromisoformat(f"{value}-01") if value else None


def _own_recycler() -> int:
    principal = current_principal()
    if principal.organisation_id is None or CLERK not in principal.roles:
        raise Forbidden("仅回收企业业务员可办理 / recycler clerks only", reason="auth.forbidden")
    return principal.organisation_id


def download(body: bytes, mime: str, filename: str) -> Response:
    """Answer with a file to save."""
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/consent-text")
class ConsentText(MethodView):
    """The consent wording sellers agree to."""

    @access(CLERK, *READERS)
    @blp.response(200, s.RiConsentTextOut)
    def get(self) -> Any:
        """Show the current consent text and its version."""
        version, text = sellers.consent_text()
        return {"text_version": version, "text_zh": text}


@blp.route("/recyclers/<int:recycler_id>")
class RecyclerItem(MethodView):
    """A recycler's reverse-invoicing standing."""

    @access(CLERK, *READERS)
    @blp.response(200, s.RiStandingOut)
    def get(self, recycler_id: int) -> Any:
        """Show the recycler's qualification, VAT method, location class and status."""
        with uow() as tx:
            standing = recyclers.standing(tx, recycler_id=recycler_id)
            recyclers.check_recycler_scope(current_principal(), recycler_id=recycler_id,
                                           county_code=standing.county_code)
            return {**asdict(standing), "may_issue": standing.may_issue}

    @access(CLERK, Role.ADMIN)
    @blp.arguments(s.RiProfileIn)
    @blp.response(200, s.RiStandingOut)
    def put(self, data: dict[str, Any], recycler_id: int) -> Any:
        """Record the qualification, VAT method and location class (a new qualification needs approval)."""
        with uow() as tx:
            standing = recyclers.register_profile(tx, principal=current_principal(), recycler_id=recycler_id, **data)
            tx.commit()
        return {**asdict(standing), "may_issue": standing.may_issue}


@blp.route("/recyclers/<int:recycler_id>/decision")
class RecyclerDecision(MethodView):
    """Approving a qualification."""

    @access(Role.SENIOR_AUDITOR, Role.ADMIN)
    @blp.arguments(s.RiDecisionIn)
    @blp.response(200, s.RiStandingOut)
    def post(self, data: dict[str, Any], recycler_id: int) -> Any:
        """Approve or revoke the recycler's qualification."""
        with uow() as tx:
            standing = recyclers.decide_qualification(tx, principal=current_principal(), recycler_id=recycler_id,
                                                      approve=data["approve"])
            tx.commit()
        return {**asdict(standing), "may_issue": standing.may_issue}


@blp.route("/sellers")
class Sellers(MethodView):
    """Natural-person sellers of scrap."""

    @access(CLERK)
    @blp.arguments(s.RiSellerIn)
    @blp.response(201, s.RiSellerOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a seller (or find them by ID number) with their own bank card; masked for clerks."""
        principal = current_principal()
        with uow() as tx:
            seller_id = sellers.register_seller(tx, principal=principal, **data)
            tx.commit()
            return sellers.view_seller(tx, principal=principal, seller_id=seller_id, registered=True)


@blp.route("/sellers/<int:seller_id>")
class SellerItem(MethodView):
    """One seller."""

    @access(CLERK, *READERS)
    @blp.response(200, s.RiSellerOut)
    def get(self, seller_id: int) -> Any:
        """Show a seller and their consents."""
        with uow() as tx:
            return sellers.view_seller(tx, principal=current_principal(), seller_id=seller_id)


@blp.route("/sellers/<int:seller_id>/consents")
class SellerConsents(MethodView):
    """The seller's consent to the caller's recycler filing taxes on their behalf."""

    @access(CLERK)
    @blp.arguments(s.RiConsentIn)
    @blp.response(201, s.RiConsentOut)
    def post(self, data: dict[str, Any], seller_id: int) -> Any:
        """Record the consent with the text version the seller agreed to (their ID number names a new seller)."""
        with uow() as tx:
            consent = sellers.record_consent_in_person(tx, principal=current_principal(), seller_id=seller_id,
                                                       recycler_id=_own_recycler(), **data)
            tx.commit()
        return consent


@blp.route("/sellers/<int:seller_id>/corrections")
class SellerCorrections(MethodView):
    """Invoices of a month whose VAT treatment no longer fits the month's total."""

    @access(CLERK, *READERS)
    @blp.arguments(s.RiCorrectionsQuery, location="query")
    @blp.response(200, s.RiCorrectionsOut)
    def get(self, query: dict[str, str], seller_id: int) -> Any:
        """List the month's invoices needing correction."""
        with uow() as tx:
            sellers.view_seller(tx, principal=current_principal(), seller_id=seller_id)
            ids = reversals.corrections_for(tx, principal=current_principal(), seller_id=seller_id,
                                            month=month_param(query["month"]) or dt.date.min)
        return {"invoice_ids": list(ids)}

    @access(CLERK, Role.ADMIN)
    @blp.arguments(s.RiCorrectionIn)
    @blp.response(200, s.RiCorrectedOut(many=True))
    def post(self, data: dict[str, str], seller_id: int) -> Any:
        """Red-letter and re-issue the month's mis-treated invoices in one transaction."""
        with uow() as tx:
            done = reversals.correct_month(tx, principal=current_principal(), seller_id=seller_id,
                                           month=month_param(data["month"]) or dt.date.min)
            tx.commit()
        return list(done)  # a tuple would be read as (body, status, headers)


@blp.route("/sellers/<int:seller_id>/annual-statements/<int:year>")
class SellerStatement(MethodView):
    """The seller's year, for their income-tax return."""

    @access(CLERK, *READERS)
    @blp.response(200, s.RiStatementOut)
    def get(self, seller_id: int, year: int) -> Any:
        """Show the seller's sales and prepaid tax for a year."""
        with uow() as tx:
            return statements.annual_statement(tx, principal=current_principal(), seller_id=seller_id, year=year)


@blp.route("/purchases")
class Purchases(MethodView):
    """Purchases of scrap."""

    @access(CLERK)
    @blp.arguments(s.RiPurchaseIn)
    @blp.response(201, s.RiIdOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Record a purchase with its lines and evidence."""
        lines = [purchases.LineIn(**line) for line in data.pop("lines")]
        evidence = purchases.Evidence(**{k: data.pop(k) for k in (
            "contract_no", "weighbridge_ticket", "vehicle_plate", "payment_reference", "paid_amount", "paid_at")},
            photos=tuple(data.pop("photos")))
        with uow() as tx:
            purchase_id = purchases.record_purchase(tx, principal=current_principal(), recycler_id=_own_recycler(),
                                                    lines=lines, evidence=evidence, **data)
            # A bookkeeping system retries: the answer commits with the purchase, so a retry always finds it.
            response = answer(_ID_OUT, {"id": purchase_id}, 201)
            tx.commit()
        return response


@blp.route("/purchases/<int:purchase_id>/invoice")
class PurchaseInvoice(MethodView):
    """The reverse invoice of a purchase."""

    @access(CLERK)
    @blp.arguments(s.RiIssueIn)
    @blp.response(201, s.RiIssueOut)
    def post(self, data: dict[str, Any], purchase_id: int) -> Any:
        """Issue the reverse invoice (checks standing, consent, the 12-month cap; numbers it gaplessly)."""
        with uow() as tx:
            result = invoices.issue_invoice(tx, principal=current_principal(), purchase_id=purchase_id, **data)
            f = result.figures
            response = answer(_ISSUE_OUT, {  # committed with the invoice, like the purchase's answer
                "invoice_id": result.invoice_id, "number": result.number, "amount": f.amount, "vat": f.vat,
                "vat_exempt": f.vat_exempt, "net_payable": f.net_payable,
                "corrections_needed": list(result.corrections_needed)}, 201)
            tx.commit()
        return response
