"""Reverse-invoicing pages: the monthly filing (prepare, review, filed, paid) and a seller's annual statement."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from reverse_invoice import filing, reversals, statements
from reverse_invoice import page_input as f
from reverse_invoice.filing import previous_month
from reverse_invoice.pages import CLERK, PAGE_SIZE, READERS, page_number, paging
from subsidy_app.access import access, current_principal
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role

bp = Blueprint("reverse_invoice_filing_pages", __name__, template_folder="templates", url_prefix="/reverse-invoice")
FILING_LABELS = {"month": "所属期", "payment_reference": "缴款凭证号"}
STATE_ZH = {"prepared": "待申报", "filed": "已申报待缴款", "paid": "已缴款"}


def _filings_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    page = page_number()
    with uow() as tx:
        principal = current_principal()
        rows = filing.list_filings(tx, principal=principal, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        total = filing.count_filings(tx, principal=principal)
    return render_template("reverse_invoice/filings.html", filings=rows, paging=paging(page, total), error=error,
                           labels=FILING_LABELS, states=STATE_ZH, clerk=CLERK in current_principal().roles,
                           form=request.form, default_month=previous_month(business_date()).strftime("%Y-%m"),
                           this_month=business_date().strftime("%Y-%m"), job=request.args.get("job", type=int),
                           admin=Role.ADMIN in current_principal().roles), status


@bp.route("/filings")
@access(CLERK, *READERS)
def filing_list() -> ResponseReturnValue:
    """List the monthly filings in the caller's scope; the clerk prepares a month's here."""
    return _filings_page()


@bp.route("/filings", methods=["POST"])
@access(CLERK)
def prepare() -> ResponseReturnValue:
    """Prepare (or rebuild, until filed) the recycler's report for a month from its invoices."""
    try:
        with uow() as tx:
            filing_id = filing.prepare_own_filing(tx, principal=current_principal(),
                                                  month=f.month(request.form, "month"))
            tx.commit()
    except DomainError as exc:
        return _filings_page(for_staff(exc, labels=FILING_LABELS), exc.status)
    flash("已生成申报表,请核对明细后申报。", "ok")
    return redirect(url_for("reverse_invoice_filing_pages.filing_page", filing_id=filing_id))


@bp.route("/filings/prepare-all", methods=["POST"])
@access(Role.ADMIN)
def prepare_all() -> ResponseReturnValue:
    """Queue the preparation of every recycler's report for a month (as the 1st's job does); show its progress."""
    try:
        month = f.month(request.form, "month")
        with uow() as tx:
            job_id = reversals.request_filings(tx, requested_by=current_principal().actor, month=month)
            tx.commit()
    except DomainError as exc:
        return _filings_page(for_staff(exc, labels=FILING_LABELS), exc.status)
    flash(f"已开始生成 {month:%Y年%m月} 全部回收企业的申报表。", "ok")
    return redirect(url_for("reverse_invoice_filing_pages.filing_list", job=job_id))


def _filing_page(filing_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        report = filing.filing_report(tx, principal=current_principal(), filing_id=filing_id, with_lines=True)
    return render_template("reverse_invoice/filing.html", r=report, states=STATE_ZH, error=error,
                           labels=FILING_LABELS, form=request.form, clerk=CLERK in current_principal().roles), status


@bp.route("/filings/<int:filing_id>")
@access(CLERK, *READERS)
def filing_page(filing_id: int) -> ResponseReturnValue:
    """Review a filing: the report, its per-seller detail, the workbook download and the clerk's next step."""
    return _filing_page(filing_id)


@bp.route("/filings/<int:filing_id>/filed", methods=["POST"])
@access(CLERK)
def mark_filed(filing_id: int) -> ResponseReturnValue:
    """Record that the report was filed with the tax bureau."""
    try:
        with uow() as tx:
            filing.mark_filed(tx, principal=current_principal(), filing_id=filing_id)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _filing_page(filing_id, for_staff(exc, labels=FILING_LABELS), exc.status)
    flash("已标记为已申报,请在截止日前缴款。", "ok")
    return redirect(url_for("reverse_invoice_filing_pages.filing_page", filing_id=filing_id))


@bp.route("/filings/<int:filing_id>/payment", methods=["POST"])
@access(CLERK)
def mark_paid(filing_id: int) -> ResponseReturnValue:
    """Record the tax payment with its voucher number."""
    try:
        with uow() as tx:
            filing.mark_paid(tx, principal=current_principal(), filing_id=filing_id,
                             payment_reference=f.text(request.form, "payment_reference", max_length=60))
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _filing_page(filing_id, for_staff(exc, labels=FILING_LABELS), exc.status)
    flash("已登记缴款。", "ok")
    return redirect(url_for("reverse_invoice_filing_pages.filing_page", filing_id=filing_id))


@bp.route("/sellers/<int:seller_id>/statement")
@access(CLERK, *READERS)
def statement(seller_id: int) -> ResponseReturnValue:
    """Show a seller's year across all recyclers: sales, VAT and surcharges paid, income tax prepaid."""
    this_year = business_date().year
    year = request.args.get("year", type=int) or this_year
    year = year if 2024 <= year <= this_year else this_year  # a year out of range shows this year's
    with uow() as tx:
        built = statements.annual_statement(tx, principal=current_principal(), seller_id=seller_id, year=year)
    return render_template("reverse_invoice/statement.html", s=built, years=range(this_year, 2023, -1))
