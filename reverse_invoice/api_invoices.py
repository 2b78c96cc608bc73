"""Reverse-invoicing API, second half: invoices as documents, red-letter reversals, monthly filings."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from reverse_invoice import documents, exports, filing, reversals
from reverse_invoice import schemas_documents as s
from reverse_invoice.api import CLERK, READERS, download, month_param
from subsidy_app.access import access, current_principal
from subsidy_app.bodies import Blueprint
from subsidy_app.http import answer, uow
from subsidy_app.identity.domain import Role

blp = Blueprint("reverse_invoice_documents", __name__, url_prefix="/api/v1/reverse-invoice",
                description="反向开票发票、红冲与月度申报 / invoices, reversals and monthly filings")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_REVERSAL_OUT = s.RiReversalOut()


@blp.route("/invoices")
class Invoices(MethodView):
    """Reverse invoices in the caller's scope."""

    @access(CLERK, *READERS)
    @blp.arguments(s.RiInvoiceQuery, location="query")
    @blp.response(200, s.RiInvoiceSummaryOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List invoices, newest first (page with before_id)."""
        with uow() as tx:
            return documents.list_invoices(tx, principal=current_principal(), **{**query,
                                                                                 "month": month_param(query["month"])})


@blp.route("/invoices/<int:invoice_id>")
class InvoiceItem(MethodView):
    """One invoice, as JSON."""

    @access(CLERK, *READERS)
    @blp.response(200, s.RiInvoiceOut)
    def get(self, invoice_id: int) -> Any:
        """Show (export) the invoice as JSON; the seller is masked for clerks."""
        with uow() as tx:
            return documents.invoice_document(tx, principal=current_principal(), invoice_id=invoice_id)


@blp.route("/invoices/<int:invoice_id>/xml")
class InvoiceXml(MethodView):
    """One invoice, as XML."""

    @access(CLERK, *READERS)
    @blp.response(200, content_type="application/xml")
    def get(self, invoice_id: int) -> Response:
        """Export the invoice as XML."""
        with uow() as tx:
            doc = documents.invoice_document(tx, principal=current_principal(), invoice_id=invoice_id)
        return download(exports.invoice_xml(doc), "application/xml", f"{doc.number}.xml")


@blp.route("/invoices/<int:invoice_id>/pdf")
class InvoicePdf(MethodView):
    """One invoice, as PDF."""

    @access(CLERK, *READERS)
    @blp.response(200, content_type="application/pdf")
    def get(self, invoice_id: int) -> Response:
        """Print the invoice as an A4 PDF."""
        with uow() as tx:
            doc = documents.invoice_document(tx, principal=current_principal(), invoice_id=invoice_id)
        return download(exports.invoice_pdf(doc), "application/pdf", f"{doc.number}.pdf")


@blp.route("/invoices/<int:invoice_id>/reversals")
class InvoiceReversals(MethodView):
    """Red-letter reversals of an invoice."""

    @access(CLERK)
    @blp.arguments(s.RiReversalIn)
    @blp.response(201, s.RiReversalOut)
    def post(self, data: dict[str, Any], invoice_id: int) -> Any:
        """Reverse in full (01–03) or grant a sales allowance (04), never beyond the invoice's amount."""
        with uow() as tx:
            result = reversals.reverse(tx, principal=current_principal(), invoice_id=invoice_id, **data)
            response = answer(_REVERSAL_OUT, result, 201)  # committed with the red invoice: a retry finds it
            tx.commit()
        return response


@blp.route("/filings")
class Filings(MethodView):
    """Monthly reports of taxes filed on sellers' behalf."""

    @access(CLERK, *READERS)
    @blp.arguments(s.RiFilingQuery, location="query")
    @blp.response(200, s.RiFilingOut(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """List the filings in the caller's scope."""
        with uow() as tx:
            return filing.list_filings(tx, principal=current_principal(), month=month_param(query["month"]))


@blp.route("/filings/prepare")
class FilingsPrepare(MethodView):
    """Preparing a month's filings now (the beat job does it on the 1st)."""

    @access(Role.ADMIN)
    @blp.arguments(s.RiPrepareIn)
    @blp.response(202, s.RiJobOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Queue the preparation of every recycler's filing; poll /api/v1/jobs/<job_id>."""
        with uow() as tx:
            job_id = reversals.request_filings(tx, requested_by=current_principal().actor,
                                               month=month_param(data["month"]))
            tx.commit()
        return {"job_id": job_id}


@blp.route("/filings/<int:filing_id>")
class FilingItem(MethodView):
    """One filing with its per-seller detail."""

    @access(CLERK, *READERS)
    @blp.response(200, s.RiFilingOut)
    def get(self, filing_id: int) -> Any:
        """Show the report and its detail report."""
        with uow() as tx:
            return filing.filing_report(tx, principal=current_principal(), filing_id=filing_id, with_lines=True)


@blp.route("/filings/<int:filing_id>/xlsx")
class FilingXlsx(MethodView):
    """One filing as a workbook."""

    @access(CLERK, *READERS)
    @blp.response(200, content_type=XLSX)
    def get(self, filing_id: int) -> Response:
        """Download the report and its detail report as XLSX."""
        with uow() as tx:
            report = filing.filing_report(tx, principal=current_principal(), filing_id=filing_id, with_lines=True)
        return download(exports.filing_xlsx(report), XLSX,
                         f"reverse-invoice-filing-{report.recycler_id}-{report.month:%Y-%m}.xlsx")


@blp.route("/filings/<int:filing_id>/filed")
class FilingFiled(MethodView):
    """Marking a filing as filed."""

    @access(CLERK)
    @blp.response(200, s.RiFilingOut)
    def post(self, filing_id: int) -> Any:
        """Record that the report was filed with the tax bureau."""
        with uow() as tx:
            report = filing.mark_filed(tx, principal=current_principal(), filing_id=filing_id)
            tx.commit()
        return report


@blp.route("/filings/<int:filing_id>/payment")
class FilingPayment(MethodView):
    """Paying a filing."""

    @access(CLERK)
    @blp.arguments(s.RiPaymentIn)
    @blp.response(200, s.RiFilingOut)
    def post(self, data: dict[str, Any], filing_id: int) -> Any:
        """Record the tax payment; it lifts a suspension once nothing else is overdue."""
        with uow() as tx:
            report = filing.mark_paid(tx, principal=current_principal(), filing_id=filing_id, **data)
            tx.commit()
        return report

