"""Recycler clerks' reverse-invoicing pages: sellers with consent, purchases with evidence, issuing (zh-CN)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from reverse_invoice import invoices, purchases, sellers
from reverse_invoice import page_input as f
from reverse_invoice.demo import SCRAP_STEEL_CODE
from reverse_invoice.domain import INVOICE_TYPE_ZH, InvoiceType
from subsidy_app.access import access, current_principal
from subsidy_app.bodies import DOCUMENTS_LIMIT, body_limit
from subsidy_app.core.clock import BEIJING, business_date
from subsidy_app.core.errors import DomainError, FieldErrors, NotFound, ValidationFailed
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import Role

bp = Blueprint("reverse_invoice_pages", __name__, template_folder="templates", url_prefix="/reverse-invoice")
CLERK = Role.RECYCLER_CLERK
READERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN, Role.FINANCE_OFFICER)
PAGE_SIZE = 50
LINE_ROWS = 3  # purchase lines on the form; empty rows are left out
SELLER_LABELS = {"name": "姓名", "id_number": "身份证号码", "phone": "手机号码", "bank_card": "本人银行卡号",
                 "bank_name": "开户银行", "agreed": "售卖人同意代办", "text_version": "授权书版本"}
LINE_FIELDS = {"product_name": "品名", "tax_code": "税收分类编码", "specification": "规格", "unit": "单位",
               "quantity": "数量", "unit_price": "单价"}
PURCHASE_LABELS = {
    "purchased_on": "收购日期", "contract_no": "合同编号", "weighbridge_ticket": "磅单编号",
    "vehicle_plate": "运输车牌号",
    "payment_reference": "付款流水号", "paid_amount": "付款金额", "paid_at": "付款时间", "photos": "现场照片",
    "weighbridge_slip": "磅单照片", "intake_ref": "回收记录编号", "lines": "收购明细",
    **{f"lines.{i}.{name}": f"第{i + 1}行{label}" for i in range(LINE_ROWS) for name, label in LINE_FIELDS.items()},
    **{f"lines.{i}.amount": f"第{i + 1}行金额" for i in range(LINE_ROWS)},
}
FIND_LABELS = {"id_number": "身份证号码"}
ISSUE_LABELS = {"invoice_type": "发票类型", "purchased_on": "收购日期"}


def page_number() -> int:
    """The list page asked for (1 when absent or not a sensible number)."""
    number = request.args.get("page", type=int) or 1
    return min(max(number, 1), 100_000)


def paging(page: int, total: int) -> dict[str, Any]:
    """Where a list stands, for the pager at its foot (templates/_pager.html keeps the filters)."""
    return {"page": page, "total": total, "size": PAGE_SIZE}


@bp.route("/sellers")
@access(CLERK, *READERS)
def seller_list() -> ResponseReturnValue:
    """List the sellers who consented to the clerk's recycler (readers: their counties' recyclers'); an ID number
    opens that seller's page, so the clerk never types or guesses a seller id."""
    page, error, status = page_number(), None, 200
    if "id_number" in request.args:
        try:
            with uow() as tx:
                seller_id = sellers.find_seller(tx, principal=current_principal(),
                                                id_number=f.text(request.args, "id_number", max_length=40))
            return redirect(url_for("reverse_invoice_pages.seller_page", seller_id=seller_id))
        except DomainError as exc:
            error, status = for_staff(exc, labels=FIND_LABELS), exc.status
    with uow() as tx:
        rows, total = sellers.list_sellers(tx, principal=current_principal(), offset=(page - 1) * PAGE_SIZE,
                                           limit=PAGE_SIZE)
    return render_template("reverse_invoice/sellers.html", sellers=rows, paging=paging(page, total), error=error,
                           labels=FIND_LABELS, form=request.args, clerk=CLERK in current_principal().roles), status


@bp.route("/sellers/new", methods=["GET", "POST"])
@access(CLERK)
def seller_form() -> ResponseReturnValue:
    """Register a seller (or find them by ID number) with their own bank card and record their consent."""
    version, text = sellers.consent_text()
    error: PageError | None = None
    if request.method == "POST":
        try:
            read = FieldErrors()
            values = {name: read.value(partial(f.text, request.form, name, max_length=60), "")
                      for name in ("name", "id_number", "phone", "bank_card", "bank_name", "text_version")}
            read.raise_any()
            with uow() as tx:
                seller_id = sellers.enrol_seller(
                    tx, principal=current_principal(), recycler_id=current_principal().organisation_id or 0,
                    name=values["name"], id_number=values["id_number"], bank_card=values["bank_card"],
                    bank_name=values["bank_name"], phone=values["phone"] or None,
                    text_version=values["text_version"], agreed=request.form.get("agreed") == "yes")
                tx.commit()
            flash("已登记售卖人并记录其代办税费授权。", "ok")
            return redirect(url_for("reverse_invoice_pages.seller_page", seller_id=seller_id))
        except DomainError as exc:
            if exc.status == 404:
                raise
            error = for_staff(exc, labels=SELLER_LABELS)
    return render_template("reverse_invoice/seller_form.html", error=error, labels=SELLER_LABELS, form=request.form,
                           text_version=version, consent_text=text), 422 if error else 200


@bp.route("/sellers/<int:seller_id>")
@access(CLERK, *READERS)
def seller_page(seller_id: int) -> ResponseReturnValue:
    """Show a seller, their rolling 12-month total and headroom, and the clerk's purchases not yet invoiced."""
    with uow() as tx:
        overview = invoices.seller_overview(tx, principal=current_principal(), seller_id=seller_id)
    return render_template("reverse_invoice/seller.html", o=overview, year=business_date().year,
                           clerk=CLERK in current_principal().roles)


def _lines(read: FieldErrors) -> list[purchases.LineIn]:
    lines = []
    for i in range(LINE_ROWS):
        key = f"lines.{i}."
        if not f.text(request.form, key + "product_name", max_length=200) and i > 0:
            continue
        lines.append(purchases.LineIn(
            product_name=read.value(partial(f.text, request.form, key + "product_name", max_length=100), ""),
            tax_code=read.value(partial(f.text, request.form, key + "tax_code", max_length=19), ""),
            specification=read.value(partial(f.text, request.form, key + "specification", max_length=60), ""),
            unit=read.value(partial(f.text, request.form, key + "unit", max_length=10), ""),
            quantity=read.value(partial(f.decimal, request.form, key + "quantity"), Decimal(1)),
            unit_price=read.value(partial(f.decimal, request.form, key + "unit_price"), Decimal(0))))
    return lines


def _paid_at() -> dt.datetime:
    raw = f.text(request.form, "paid_at", max_length=40)
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.field("paid_at", "时间格式应为 YYYY-MM-DDTHH:MM / date and time required") from None
    if not dt.datetime(2000, 1, 1) <= value.replace(tzinfo=None) <= dt.datetime(2100, 1, 1):
        raise ValidationFailed.field("paid_at", "付款时间超出范围 / payment time out of range")
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)  # the clerk's wall clock is Beijing's


def _uploads(read: FieldErrors) -> list[purchases.Upload]:
    found = [purchases.Upload("photo", u.filename or "photo", u.read()) for u in request.files.getlist("photos")
             if u.filename]
    slip = request.files.get("weighbridge_slip")
    if slip is not None and slip.filename:
        found.append(purchases.Upload("weighbridge", slip.filename, slip.read()))
    if len(found) > 10:
        read.add("photos", "最多上传 10 个文件 / at most 10 files")
    return found


@bp.route("/sellers/<int:seller_id>/purchases/new", methods=["GET", "POST"])
@access(CLERK)
@body_limit(DOCUMENTS_LIMIT)
def purchase_form(seller_id: int) -> ResponseReturnValue:
    """Record a purchase from the seller with its lines, photos, weighbridge slip and payment to their card."""
    error: PageError | None = None
    if request.method == "POST":
        try:
            read = FieldErrors()
            lines = _lines(read)
            evidence = purchases.Evidence(
                **{name: read.value(partial(f.text, request.form, name, max_length=60), "") for name in (
                    "contract_no", "weighbridge_ticket", "vehicle_plate", "payment_reference")},
                photos=(), paid_amount=read.value(partial(f.money, request.form, "paid_amount"), Decimal(0)),
                paid_at=read.value(_paid_at, dt.datetime.min))
            purchased_on = read.value(partial(f.date, request.form, "purchased_on"), dt.date.min)
            uploads = _uploads(read)
            read.raise_any()
            with uow() as tx:
                purchase_id = purchases.record_purchase_with_uploads(
                    tx, principal=current_principal(), recycler_id=current_principal().organisation_id or 0,
                    seller_id=seller_id, purchased_on=purchased_on, lines=lines, evidence=evidence, uploads=uploads)
                tx.commit()
            flash(f"已登记收购 #{purchase_id},请核对近12个月销售额后开具发票。", "ok")
            return redirect(url_for("reverse_invoice_pages.purchase_page", purchase_id=purchase_id))
        except DomainError as exc:
            if exc.status == 404:
                raise
            error = for_staff(exc, labels=PURCHASE_LABELS)
    with uow() as tx:
        seller = sellers.view_seller(tx, principal=current_principal(), seller_id=seller_id)
    return render_template("reverse_invoice/purchase_form.html", error=error, labels=PURCHASE_LABELS,
                           form=request.form, seller=seller, rows=range(LINE_ROWS), tax_code=SCRAP_STEEL_CODE,
                           today=business_date()), 422 if error else 200


@bp.route("/purchases")
@access(CLERK)
def purchase_list() -> ResponseReturnValue:
    """List the recycler's purchases, newest first; filter by 待开票 / 已开票."""
    page = page_number()
    state = request.args.get("state") if request.args.get("state") in ("open", "invoiced") else None
    try:
        with uow() as tx:
            rows, total = purchases.list_purchases(tx, principal=current_principal(),
                                                   recycler_id=current_principal().organisation_id or 0,
                                                   state=state, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except NotFound as exc:
        if exc.reason != "recycler.not_registered":
            raise
        # Not yet registered for reverse invoicing: the clerk's own list is empty, and the page says why.
        return render_template("reverse_invoice/purchases.html", purchases=[], state=state, paging=paging(page, 0),
                               not_registered=exc.message.split(" / ", 1)[0])
    return render_template("reverse_invoice/purchases.html", purchases=rows, state=state, paging=paging(page, total))


def _purchase_page(purchase_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        detail, preview = invoices.purchase_with_preview(tx, principal=current_principal(), purchase_id=purchase_id)
    return render_template("reverse_invoice/purchase.html", d=detail, p=preview, error=error, labels=ISSUE_LABELS,
                           invoice_types=INVOICE_TYPE_ZH), status


@bp.route("/purchases/<int:purchase_id>")
@access(CLERK)
def purchase_page(purchase_id: int) -> ResponseReturnValue:
    """Show a purchase with its evidence and, before issuing, the seller's 12-month total and headroom."""
    return _purchase_page(purchase_id)


@bp.route("/purchases/<int:purchase_id>/invoice", methods=["POST"])
@access(CLERK)
def issue(purchase_id: int) -> ResponseReturnValue:
    """Issue the purchase's reverse invoice once the clerk has seen the headroom."""
    try:
        kind = InvoiceType(f.choice(request.form, "invoice_type", tuple(t.value for t in InvoiceType)))
        with uow() as tx:
            result = invoices.issue_invoice(tx, principal=current_principal(), purchase_id=purchase_id,
                                            invoice_type=kind)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _purchase_page(purchase_id, for_staff(exc, labels=ISSUE_LABELS), exc.status)
    flash(f"已开具发票 {result.number}。", "ok")
    if result.corrections_needed:
        flash(f"本月销售额已超过免税标准,同月 {len(result.corrections_needed)} 张免税发票需更正。", "warn")
    return redirect(url_for("reverse_invoice_views.invoice_page", invoice_id=result.invoice_id))


@bp.route("/purchases/<int:purchase_id>/evidence/<int:document_id>")
@access(CLERK)
def evidence(purchase_id: int, document_id: int) -> Response:
    """Send one of the purchase's evidence files inline, never as HTML."""
    with uow() as tx:
        content = purchases.evidence_file(tx, principal=current_principal(), purchase_id=purchase_id,
                                          document_id=document_id)
    response = Response(content.data, mimetype=content.ref.content_type)
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response
