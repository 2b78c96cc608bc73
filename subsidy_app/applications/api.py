"""Applications API: dealers' car sales and their QR codes, review, batch approval, payment batches."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView

from subsidy_app.access import access, current_principal
from subsidy_app.applications import payments, queries, review, sales
from subsidy_app.applications import schemas as s
from subsidy_app.bodies import TABLE_FILE_LIMIT, Blueprint, body_limit
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.qr import render_png, render_svg
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role

blp = Blueprint("applications", __name__, url_prefix="/api/v1", description="汽车以旧换新申请 / car applications")
REVIEWERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN)


def apply_url(sale: sales.SaleView) -> str:
    """Return the URL the buyer's QR code holds."""
    settings = runtime().settings
    token = sales.apply_token(settings.secret_key, sale, days=settings.qr_token_days)
    return f"{settings.public_base_url}/m/car/{token}"


def _sale_out(sale: sales.SaleView) -> dict[str, Any]:
    return {**sale.__dict__, "apply_url": apply_url(sale),
            "qr_png_url": url_for("applications.CarSaleQr", sale_id=sale.id, fmt="png"),
            "qr_svg_url": url_for("applications.CarSaleQr", sale_id=sale.id, fmt="svg")}


@blp.route("/car-sales")
class CarSales(MethodView):
    """Dealers' new-car sales."""

    @access(Role.DEALER_CLERK)
    @blp.arguments(s.CarSaleIn)
    @blp.response(201, s.CarSaleOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Register a sale; the answer carries the QR code the buyer scans to apply."""
        with uow() as tx:
            sale = sales.register_car_sale(tx, principal=current_principal(), **data)
            tx.commit()
        return _sale_out(sale)


@blp.route("/car-sales/<int:sale_id>")
class CarSaleItem(MethodView):
    """One sale."""

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.response(200, s.CarSaleOut)
    def get(self, sale_id: int) -> Any:
        """Show a sale (dealers see only their own)."""
        with uow() as tx:
            return _sale_out(sales.get_sale(tx, sale_id=sale_id, principal=current_principal()))


@blp.route("/car-sales/<int:sale_id>/qr.<fmt>")
class CarSaleQr(MethodView):
    """The buyer's QR code as an image."""

    @access(Role.DEALER_CLERK, *BUREAU)
    def get(self, sale_id: int, fmt: str) -> Response:
        """Render the sale's QR code as PNG or SVG."""
        with uow() as tx:
            url = apply_url(sales.get_sale(tx, sale_id=sale_id, principal=current_principal()))
        if fmt == "png":
            return Response(render_png(url), mimetype="image/png")
        if fmt == "svg":
            return Response(render_svg(url), mimetype="image/svg+xml")
        raise ValidationFailed.field("fmt", "格式应为 png 或 svg / format must be png or svg")


@blp.route("/applications")
class Applications(MethodView):
    """The review queue."""

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.arguments(s.ApplicationQuery, location="query")
    @blp.response(200, s.ApplicationOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List applications in the caller's counties (dealers: their own sales), oldest first."""
        with uow() as tx:
            return queries.review_queue(tx, principal=current_principal(), **query)


@blp.route("/applications/<int:application_id>")
class ApplicationItem(MethodView):
    """One application."""

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.response(200, s.ApplicationOut)
    def get(self, application_id: int) -> Any:
        """Show an application with its checks, history and documents."""
        with uow() as tx:
            return queries.application_detail(tx, principal=current_principal(), application_id=application_id)


@blp.route("/applications/<int:application_id>/review")
class Review(MethodView):
    """Reviewers' decisions."""

    @access(*REVIEWERS)
    @blp.arguments(s.ReviewIn)
    @blp.response(200, s.ApplicationOut)
    def post(self, data: dict[str, Any], application_id: int) -> Any:
        """Approve, approve as second reviewer, return, reject or revoke (return/reject/revoke need a reason)."""
        principal = current_principal()
        with uow() as tx:
            review.review(tx, principal=principal, application_id=application_id, **data)
            tx.commit()
            return queries.application_detail(tx, principal=principal, application_id=application_id)


@blp.route("/applications/<int:application_id>/checks/<int:check_id>/override")
class Override(MethodView):
    """Accepting a failed check by hand."""

    @access(Role.AUDITOR, Role.SENIOR_AUDITOR)
    @blp.arguments(s.OverrideIn)
    @blp.response(200, s.ApplicationOut)
    def post(self, data: dict[str, Any], application_id: int, check_id: int) -> Any:
        """Accept a failed check with a reason; the application then needs a second review."""
        principal = current_principal()
        with uow() as tx:
            review.override_check(tx, principal=principal, application_id=application_id, check_id=check_id,
                                  reason=data["reason"])
            tx.commit()
            return queries.application_detail(tx, principal=principal, application_id=application_id)


@blp.route("/applications/batch-approve")
class BatchApprove(MethodView):
    """Approving many applications whose checks all passed."""

    @access(Role.AUDITOR, Role.SENIOR_AUDITOR)
    @blp.arguments(s.BatchApproveIn)
    @blp.response(200, s.BatchApproveOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Approve each through the same transition; those needing a second review are skipped."""
        with uow() as tx:
            outcome = review.batch_approve(tx, principal=current_principal(), application_ids=data["application_ids"])
            tx.commit()
        return {"approved": outcome.approved, "awaiting_funds": outcome.awaiting_funds,
                "skipped": {str(k): v for k, v in outcome.skipped.items()}}


@blp.route("/payment-batches")
class PaymentBatches(MethodView):
    """Finance's payment batches."""

    @access(Role.FINANCE_OFFICER)
    @blp.arguments(s.PaymentBatchIn)
    @blp.response(201, s.PaymentBatchOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a batch from approved applications; the declared count and total must match."""
        with uow() as tx:
            ref = payments.create_batch(tx, principal=current_principal(), **data)
            tx.commit()
            return payments.batch_summary(tx, principal=current_principal(), batch_id=ref.id)


@blp.route("/payment-batches/<int:batch_id>")
class PaymentBatchItem(MethodView):
    """One payment batch."""

    @access(Role.FINANCE_OFFICER, Role.ADMIN)
    @blp.response(200, s.PaymentBatchOut)
    def get(self, batch_id: int) -> Any:
        """Show a batch and its lines."""
        with uow() as tx:
            return payments.batch_summary(tx, principal=current_principal(), batch_id=batch_id)


@blp.route("/payment-batches/<int:batch_id>/bank-file")
class BankFile(MethodView):
    """The file for the bank."""

    @access(Role.FINANCE_OFFICER)
    @blp.arguments(s.BankFileQuery, location="query")
    def get(self, query: dict[str, str], batch_id: int) -> Response:
        """Download the bank file (XLSX or CSV) with clear card numbers; the batch becomes exported."""
        with uow() as tx:
            rows = payments.export_rows(tx, principal=current_principal(), batch_id=batch_id)
            tx.commit()
        if query["format"] == "csv":
            body, mime = payments.rows_to_csv(rows), "text/csv; charset=utf-8"
        else:
            body = payments.rows_to_xlsx(rows, f"batch-{batch_id}")
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = Response(body, mimetype=mime)
        response.headers["Content-Disposition"] = f"attachment; filename=batch-{batch_id}.{query['format']}"
        response.headers["Cache-Control"] = "no-store"
        return response


@blp.route("/payment-batches/<int:batch_id>/results")
class BankResults(MethodView):
    """The bank's result file."""

    @access(Role.FINANCE_OFFICER)
    @body_limit(TABLE_FILE_LIMIT)
    @blp.response(200, s.ReconciliationOut)
    def post(self, batch_id: int) -> Any:
        """Upload the bank's result file (CSV or XLSX, field `file`); a second import of it changes nothing."""
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed.field("file", "请上传银行回盘文件 / upload the bank's result file")
        with uow() as tx:
            report = payments.import_bank_result(tx, principal=current_principal(), batch_id=batch_id,
                                                 filename=upload.filename, data=upload.read())
            tx.commit()
        return report.as_dict()
