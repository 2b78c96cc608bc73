"""Finance officers' pages: build a payment batch with control totals, download the bank file, reconcile."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.applications import form_input as f
from subsidy_app.applications import payments, queries, staff_queries
from subsidy_app.applications.domain import State
from subsidy_app.bodies import TABLE_FILE_LIMIT, body_limit
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.http import uow
from subsidy_app.identity.domain import COUNTIES, Role

bp = Blueprint("finance_pages", __name__, template_folder="templates")
PAYABLE_LIMIT = 500
FIELD_LABELS = {"application_ids": "选择的申请", "declared_count": "核对笔数", "declared_total": "核对金额",
                "file": "银行回盘文件"}


def _batches_page(error: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    with uow() as tx:
        approved = queries.review_queue(tx, principal=principal, state=State.APPROVED, programme=None,
                                        limit=PAYABLE_LIMIT)
        batches = staff_queries.payment_batches(tx, principal=principal)
        approved_at = queries.approval_times(tx, application_ids=[a["id"] for a in approved])
    approved = [{**a, "approved_at": approved_at.get(a["id"])} for a in approved]
    payable = [a for a in approved if not a["card_correction_needed"]]
    waiting = [a for a in approved if a["card_correction_needed"]]
    total = sum((a["amount"] for a in payable), Decimal("0.00"))
    chosen = set(request.form.getlist("application_ids")) if request.method == "POST" else set()
    return render_template("applications/staff/batches.html", payable=payable, waiting=waiting, total=total,
                           batches=batches, counties=COUNTIES, error=error, labels=FIELD_LABELS,
                           form=request.form, chosen=chosen, limit=PAYABLE_LIMIT), status


@bp.route("/finance/batches")
@access(Role.FINANCE_OFFICER)
def batches() -> ResponseReturnValue:
    """List approved applications ready to pay and the recent payment batches."""
    return _batches_page()


@bp.route("/finance/batches", methods=["POST"])
@access(Role.FINANCE_OFFICER)
def create_batch() -> ResponseReturnValue:
    """Create a batch from the ticked applications; the officer's count and total must match them."""
    try:
        chosen = f.ids(request.form.getlist("application_ids"), "application_ids")
        with uow() as tx:
            ref = payments.create_batch(tx, principal=current_principal(), application_ids=chosen,
                                        declared_count=f.integer(request.form, "declared_count"),
                                        declared_total=f.money(request.form, "declared_total"))
            tx.commit()
    except DomainError as exc:
        return _batches_page(f.page_error(exc, FIELD_LABELS), exc.status)
    flash(f"已生成发放批次 {ref.number}:{ref.count} 笔,合计 {ref.total:.2f} 元。请下载银行文件报送银行。", "ok")
    return redirect(url_for("finance_pages.batch_detail", batch_id=ref.id))


def _batch_page(batch_id: int, *, report: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
                status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        batch = payments.batch_summary(tx, principal=current_principal(), batch_id=batch_id)
        numbers = staff_queries.application_numbers(tx, application_ids=[x["application_id"] for x in batch["lines"]])
    return render_template(
        "applications/staff/batch_detail.html", batch=batch, numbers=numbers, report=report, error=error,
        labels=FIELD_LABELS, batch_state=staff_queries.BATCH_STATE_LABELS_ZH.get(batch["state"], batch["state"]),
        line_states=staff_queries.LINE_STATE_LABELS_ZH,
        total=sum((x["amount"] for x in batch["lines"]), Decimal("0.00"))), status


@bp.route("/finance/batches/<int:batch_id>")
@access(Role.FINANCE_OFFICER, Role.ADMIN)
def batch_detail(batch_id: int) -> ResponseReturnValue:
    """Show a batch's lines with the bank-file downloads and the result upload."""
    return _batch_page(batch_id)


@bp.route("/finance/batches/<int:batch_id>/results", methods=["POST"])
@access(Role.FINANCE_OFFICER)
@body_limit(TABLE_FILE_LIMIT)
def upload_results(batch_id: int) -> ResponseReturnValue:
    """Reconcile the bank's result file and show the report; uploading the same file again changes nothing."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed.field("file", "请选择银行回盘文件(CSV 或 XLSX)/ choose the bank's result file")
        with uow() as tx:
            report = payments.import_bank_result(tx, principal=current_principal(), batch_id=batch_id,
                                                 filename=upload.filename, data=upload.read())
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _batch_page(batch_id, error=f.page_error(exc, FIELD_LABELS), status=exc.status)
    return _batch_page(batch_id, report=report.as_dict())
