"""Reverse-invoicing pages: the recycler's invoice list and the printable invoice (zh-CN)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from reverse_invoice import documents
from subsidy_app.access import access, current_principal
from subsidy_app.http import runtime
from subsidy_app.identity.domain import Role

bp = Blueprint("reverse_invoice_views", __name__, template_folder="templates", url_prefix="/reverse-invoice")
VIEWERS = (Role.RECYCLER_CLERK, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.FINANCE_OFFICER)


@bp.route("/invoices")
@access(*VIEWERS)
def invoice_list() -> ResponseReturnValue:
    """List the newest invoices in the caller's scope."""
    before = request.args.get("before_id", type=int)
    with runtime().unit_of_work() as tx:
        rows = documents.list_invoices(tx, principal=current_principal(), before_id=before, limit=50)
        return render_template("reverse_invoice/list.html", invoices=rows)


@bp.route("/invoices/<int:invoice_id>")
@access(*VIEWERS)
def invoice_page(invoice_id: int) -> ResponseReturnValue:
    """Show the invoice, ready to print."""
    with runtime().unit_of_work() as tx:
        doc = documents.invoice_document(tx, principal=current_principal(), invoice_id=invoice_id)
    return render_template("reverse_invoice/invoice.html", doc=doc)
