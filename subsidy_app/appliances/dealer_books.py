"""The appliance dealer's files and accounts: bulk sales uploads with their progress and rejected rows, statements."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.appliances import bulk, bulk_rejects, dealer_queries, fraud, participation, poster, settlement
from subsidy_app.appliances.dealer_pages import PAGE_SIZE, page_number
from subsidy_app.applications import form_input as f
from subsidy_app.bodies import TABLE_FILE_LIMIT, body_limit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role
from subsidy_app.rules.services import version_cache

bp = Blueprint("appliance_dealer_books", __name__, template_folder="templates")
CLERK = Role.DEALER_CLERK
UPLOAD_LABELS = {"store_id": "门店", "file": "销售文件"}
STATEMENT_LABELS = {"programme": "补贴类别", "period_start": "开始日期", "period_end": "结束日期",
                    "account_name": "户名", "bank_name": "开户银行", "account_number": "银行账号"}
PROGRAMMES = {"appliance": "家电以旧换新", "digital": "数码产品购新"}


def _uploads_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    page = page_number()
    with uow() as tx:
        stores = participation.list_stores(tx, principal=current_principal())
        rows, total = dealer_queries.list_uploads(tx, principal=current_principal(), limit=PAGE_SIZE,
                                                  offset=(page - 1) * PAGE_SIZE)
    return render_template("appliances/dealer/uploads.html", stores=stores, rows=rows, total=total, page=page,
                           size=PAGE_SIZE, error=error, labels=UPLOAD_LABELS, columns=bulk.COLUMNS,
                           optional=bulk.OPTIONAL, form=request.form), status


@bp.route("/dealer/appliances/uploads")
@access(CLERK)
def uploads() -> ResponseReturnValue:
    """The bulk sales file form and the dealer's earlier uploads."""
    return _uploads_page()


@bp.route("/dealer/appliances/uploads", methods=["POST"])
@access(CLERK)
@body_limit(TABLE_FILE_LIMIT)
def upload() -> ResponseReturnValue:
    """Take a day's sales file through the API's own service; then its page follows the job to the end."""
    try:
        read = FieldErrors()
        store_id = read.value(lambda: f.integer(request.form, "store_id"), 0)
        file = request.files.get("file")
        if file is None or not file.filename:
            read.add("file", "请选择 CSV 或 XLSX 文件 / choose a CSV or XLSX file")
        read.raise_any()
        assert file is not None and file.filename
        with uow() as tx:
            ref = bulk.upload(tx, principal=current_principal(), versions=version_cache().versions(tx),
                              store_id=store_id, filename=file.filename, data=file.read(),
                              limits=fraud.thresholds(runtime().settings))
            tx.commit()
    except DomainError as exc:
        return _uploads_page(for_staff(exc, labels=UPLOAD_LABELS), exc.status)
    if ref.already_uploaded:
        flash("该文件已上传过,以下是当时的处理结果;重复上传不会重复登记。", "warn")
    else:
        flash("文件已接收,正在逐行核验。", "ok")
    return redirect(url_for("appliance_dealer_books.upload_detail", upload_id=ref.upload_id))


@bp.route("/dealer/appliances/uploads/<int:upload_id>")
@access(CLERK)
def upload_detail(upload_id: int) -> ResponseReturnValue:
    """An upload's progress (polling its job while it runs), then its totals and the rejected rows line by line."""
    page = page_number()
    with uow() as tx:
        ref = bulk.upload_status(tx, principal=current_principal(), upload_id=upload_id)
    errors = bulk_rejects.rejected(ref.report)
    return render_template("appliances/dealer/upload.html", ref=ref, report=ref.report or {}, page=page,
                           size=PAGE_SIZE, errors=errors[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
                           error_total=len(errors))


@bp.route("/dealer/appliances/uploads/<int:upload_id>/rejected.xlsx")
@access(CLERK)
def upload_rejected(upload_id: int) -> Response:
    """The rejected rows as a workbook, each with its line, column and why, and the row as it was filed."""
    with uow() as tx:
        data = bulk_rejects.workbook(tx, principal=current_principal(), upload_id=upload_id)
    response = Response(data, mimetype=bulk_rejects.XLSX_TYPE)
    response.headers["Content-Disposition"] = f"attachment; filename=upload-{upload_id}-rejected.xlsx"
    return response


def _statements_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    page = page_number()
    with uow() as tx:
        rows, total = settlement.own_statements(tx, principal=current_principal(), limit=PAGE_SIZE,
                                                 offset=(page - 1) * PAGE_SIZE)
        account = participation.dealer_account(tx, principal=current_principal())
    today = business_date()
    form: dict[str, Any] = request.form.to_dict() if request.method == "POST" else {
        "programme": "appliance", "period_start": today.replace(day=1).isoformat(), "period_end": today.isoformat()}
    return render_template("appliances/dealer/statements.html", rows=rows, total=total, page=page, size=PAGE_SIZE,
                           error=error, labels=STATEMENT_LABELS, programmes=PROGRAMMES, form=form,
                           account=account), status


@bp.route("/dealer/appliances/settlements")
@access(CLERK)
def statements() -> ResponseReturnValue:
    """The dealer's settlement statements and the form to create one for a period."""
    return _statements_page()


@bp.route("/dealer/appliances/settlements", methods=["POST"])
@access(CLERK)
def create_statement() -> ResponseReturnValue:
    """Create a statement of the period's instant discounts less returns; the county bureau then reviews it."""
    principal = current_principal()
    try:
        read = FieldErrors()
        programme = read.value(lambda: f.choice(request.form, "programme", tuple(PROGRAMMES)), "appliance")
        start = read.value(lambda: f.date(request.form, "period_start"), business_date())
        end = read.value(lambda: f.date(request.form, "period_end"), business_date())
        read.raise_any()
        if principal.organisation_id is None:
            raise ValidationFailed.field("programme", "仅经销商账号可生成结算单 / dealer accounts only")
        with uow() as tx:
            made = settlement.create_statement(tx, principal=principal, dealer_org_id=principal.organisation_id,
                                               programme=programme, period_start=start, period_end=end)
            tx.commit()
    except DomainError as exc:
        return _statements_page(for_staff(exc, labels=STATEMENT_LABELS), exc.status)
    flash(f"结算单 {made.number} 已生成:{made.sales} 笔,应结 {made.total:.2f} 元(扣回 {made.clawback:.2f} 元),"
          "已提交审核。", "ok")
    return redirect(url_for("appliance_dealer_books.statement_detail", application_id=made.application_id))


@bp.route("/dealer/appliances/settlements/account", methods=["POST"])
@access(CLERK)
def set_account() -> ResponseReturnValue:
    """Record the account the dealer's statements are paid into."""
    principal = current_principal()
    try:
        read = FieldErrors()
        texts = {name: read.value(partial(f.text, request.form, name, max_length=200), "")
                 for name in ("account_name", "bank_name", "account_number")}
        if not texts["bank_name"] and not read.refused("bank_name"):
            read.add("bank_name", "请填写开户银行 / the bank is required")
        read.raise_any()
        if principal.organisation_id is None:
            raise ValidationFailed.field("account_number", "仅经销商账号可登记 / dealer accounts only")
        with uow() as tx:
            masked = participation.set_dealer_account(tx, principal=principal,
                                                      dealer_org_id=principal.organisation_id, **texts)
            tx.commit()
    except DomainError as exc:
        return _statements_page(for_staff(exc, labels=STATEMENT_LABELS), exc.status)
    flash(f"结算账户已登记:{masked}。", "ok")
    return redirect(url_for("appliance_dealer_books.statements"))


@bp.route("/dealer/appliances/settlements/<int:application_id>/withdraw", methods=["POST"])
@access(CLERK)
def withdraw_statement(application_id: int) -> ResponseReturnValue:
    """Take back a statement returned for correction (or not yet reviewed); its sales go on the next one."""
    try:
        with uow() as tx:
            settlement.withdraw_statement(tx, principal=current_principal(), application_id=application_id)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(for_staff(exc, labels=STATEMENT_LABELS)["message"] or str(exc), "error")
        return redirect(url_for("appliance_dealer_books.statement_detail", application_id=application_id))
    flash("结算单已撤回:其中的销售和扣回会计入您下次生成的结算单。", "ok")
    return redirect(url_for("appliance_dealer_books.statement_detail", application_id=application_id))


@bp.route("/dealer/appliances/settlements/<int:application_id>")
@access(CLERK)
def statement_detail(application_id: int) -> ResponseReturnValue:
    """One statement: its state, its sales and the returns deducted, and the checks that failed."""
    with uow() as tx:
        shown = settlement.statement_page(tx, principal=current_principal(), application_id=application_id)
    return render_template("appliances/dealer/statement.html", s=shown, programmes=PROGRAMMES,
                           states=dealer_queries.STATE_ZH, names=poster.CATEGORY_ZH)
