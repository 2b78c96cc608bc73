"""Reverse-invoicing pages: the invoice list, the printable invoice and its red-letter reversal (zh-CN)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from reverse_invoice import documents, reversals
from reverse_invoice import page_input as f
from reverse_invoice.domain import RedReason
from reverse_invoice.pages import PAGE_SIZE, page_number, paging
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.access import access, current_principal
from subsidy_app.core.errors import DomainError
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role

bp = Blueprint("reverse_invoice_views", __name__, template_folder="templates", url_prefix="/reverse-invoice")
CLERK = Role.RECYCLER_CLERK
VIEWERS = (Role.RECYCLER_CLERK, Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.FINANCE_OFFICER)
REVERSAL_LABELS = {"reason": "冲红原因", "amount": "折让金额"}


@bp.route("/invoices")
@access(*VIEWERS)
def invoice_list() -> ResponseReturnValue:
    """List the invoices in the caller's scope, newest first, a page at a time; filter by month."""
    page = page_number()
    month = None
    try:
        month = f.month(request.args, "month") if request.args.get("month") else None
    except DomainError:
        month = None  # a mistyped filter lists every month rather than refusing the list
    with runtime().unit_of_work() as tx:
        principal = current_principal()
        rows = documents.list_invoices(tx, principal=principal, month=month, offset=(page - 1) * PAGE_SIZE,
                                       limit=PAGE_SIZE)
        total = documents.count_invoices(tx, principal=principal, month=month)
        return render_template("reverse_invoice/list.html", invoices=rows, paging=paging(page, total),
                               month=month.strftime("%Y-%m") if month else "")


def _invoice_page(invoice_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with runtime().unit_of_work() as tx:
        doc = documents.invoice_document(tx, principal=current_principal(), invoice_id=invoice_id)
    reasons = load_tax_rules().red_reasons
    return render_template("reverse_invoice/invoice.html", doc=doc, reasons=reasons, error=error,
                           labels=REVERSAL_LABELS, form=request.form,
                           may_reverse=CLERK in current_principal().roles and doc.colour == "blue"
                           and doc.state != "reversed"), status


@bp.route("/invoices/<int:invoice_id>")
@access(*VIEWERS)
def invoice_page(invoice_id: int) -> ResponseReturnValue:
    """Show the invoice, ready to print, with the clerk's red-letter form."""
    return _invoice_page(invoice_id)


@bp.route("/invoices/<int:invoice_id>/reversal", methods=["POST"])
@access(CLERK)
def reverse(invoice_id: int) -> ResponseReturnValue:
    """Red-letter the invoice in full (01–03) or grant a sales allowance (04) with the amount."""
    try:
        reason = RedReason(f.choice(request.form, "reason", tuple(r.value for r in RedReason)))
        amount = f.money(request.form, "amount") if request.form.get("amount", "").strip() else None
        with uow() as tx:
            result = reversals.reverse(tx, principal=current_principal(), invoice_id=invoice_id, reason=reason,
                                       amount=amount)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _invoice_page(invoice_id, for_staff(exc, labels=REVERSAL_LABELS), exc.status)
    flash(f"已开具红字发票 {result.number},冲红金额 {result.amount} 元。", "ok")
    if result.corrections_needed:
        flash(f"冲红后本月免税判断变化,同月 {len(result.corrections_needed)} 张发票需更正。", "warn")
    return redirect(url_for("reverse_invoice_views.invoice_page", invoice_id=result.red_invoice_id))
