"""Appliance sales API: the till's sale endpoint, returns, old-appliance pickups, buyer codes, settlement."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask.views import MethodView
from sqlalchemy.exc import OperationalError

from subsidy_app.access import access, current_principal
from subsidy_app.appliances import bulk, fraud, selling, settlement
from subsidy_app.appliances import buyer as buyers
from subsidy_app.appliances import schemas as s
from subsidy_app.appliances.api import upload
from subsidy_app.appliances.domain import SaleMode
from subsidy_app.bodies import TABLE_FILE_LIMIT, Blueprint, body_limit
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.qr import sign_token
from subsidy_app.http import answer, runtime, uow
from subsidy_app.identity.domain import Role
from subsidy_app.rules.services import version_cache

blp = Blueprint("appliance_sales", __name__, url_prefix="/api/v1",
                description="家电与数码销售、退货与清算 / appliance sales and settlement")
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
RECEIPT_PURPOSE = "appliance-receipt"
_SALE_OUT, _STATE_OUT = s.SaleOut(), s.StateOut()
log = logging.getLogger(__name__)


def receipt_url(apply_code: str | None) -> str | None:
    """Return the URL the receipt's QR code holds (a signed, expiring token, never the sale id)."""
    if apply_code is None:
        return None
    settings = runtime().settings
    token = sign_token(settings.secret_key, RECEIPT_PURPOSE, {"c": apply_code}, max_age_days=settings.qr_token_days)
    return f"{settings.public_base_url}/m/appliance/{token}"


def note_clash(taken: selling.SerialTaken) -> None:
    """Record a second dealer's report of a held serial; the till gets its 409 even if this fails (logged)."""
    for attempt in (1, 2):
        try:
            with uow() as tx:
                selling.note_serial_clash(tx, serial_key=taken.serial_key, dealer_org_id=taken.dealer_org_id)
            return
        except OperationalError:  # a deadlock with a review locking the statement: transient, so once more
            if attempt == 2:
                log.exception("could not record the report of serial %s by dealer %s", taken.serial_key,
                              taken.dealer_org_id)


_BUYER_FIELDS = ("buyer_token", "buyer_name", "buyer_id_number", "buyer_phone", "buyer_code", "mode")


@blp.route("/appliance-sales")
class Sales(MethodView):
    """Subsidised sales from the till."""

    @access(Role.DEALER_CLERK)
    @blp.arguments(s.SaleIn)
    @blp.response(200, s.SaleOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Evaluate a sale; when eligible, record it and hold the buyer's quota and the budget at once."""
        principal = current_principal()
        sale = selling.SaleInput(**{k: v for k, v in data.items() if k not in _BUYER_FIELDS})
        try:
            with uow() as tx:
                buyer = buyers.resolve(tx, secret_key=runtime().settings.secret_key, actor=principal.actor,
                                       store_id=data["store_id"], token=data.get("buyer_token"),
                                       name=data.get("buyer_name"), id_number=data.get("buyer_id_number"),
                                       phone=data.get("buyer_phone"), code=data.get("buyer_code"))
                outcome = selling.sell(tx, principal=principal, versions=version_cache().versions(tx), data=sale,
                                       buyer=buyer, mode=SaleMode(data["mode"]),
                                       limits=fraud.thresholds(runtime().settings))
                # The till retries on a timeout: its answer commits with the sale, so a retry always finds it.
                response = answer(_SALE_OUT, {**outcome.__dict__, "receipt_url": receipt_url(outcome.apply_code)})
                tx.commit()
        except selling.SerialTaken as taken:
            note_clash(taken)
            raise
        return response


@blp.route("/appliance-sales/<int:sale_id>/return")
class SaleReturn(MethodView):
    """Returns."""

    @access(Role.DEALER_CLERK)
    @blp.arguments(s.ReturnIn)
    @blp.response(200, s.StateOut)
    def post(self, data: dict[str, Any], sale_id: int) -> Any:
        """Record a return: the subsidy is clawed back from the dealer; the buyer's quota stays used."""
        with uow() as tx:
            state = selling.return_sale(tx, principal=current_principal(), sale_id=sale_id, reason=data["reason"])
            response = answer(_STATE_OUT, {"state": state})  # committed with the clawback: a retry finds it
            tx.commit()
        return response


@blp.route("/appliance-sales/<int:sale_id>/pickup")
class SalePickup(MethodView):
    """The old appliance."""

    @access(Role.DEALER_CLERK)
    @blp.arguments(s.PickupIn)
    @blp.response(204)
    def post(self, data: dict[str, Any], sale_id: int) -> None:
        """Record that the dealer collected the old appliance."""
        with uow() as tx:
            selling.record_pickup(tx, principal=current_principal(), sale_id=sale_id, **data)
            tx.commit()


@blp.route("/appliance-buyer-codes")
class BuyerCodes(MethodView):
    """One-time codes for buyers at the till."""

    @access(Role.DEALER_CLERK)
    @blp.arguments(s.BuyerCodeIn)
    @blp.response(202)
    def post(self, data: dict[str, Any]) -> None:
        """Send the buyer a one-time code to confirm their identity."""
        with uow() as tx:
            buyers.send_code(tx, phone=data["phone"])
            tx.commit()


@blp.route("/appliance-settlements")
class Settlements(MethodView):
    """Dealer statements (清算)."""

    @access(Role.DEALER_CLERK, *BUREAU)
    @blp.arguments(s.StatementIn)
    @blp.response(201, s.StatementOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a dealer's statement for a period; the county bureau then reviews it like an application."""
        with uow() as tx:
            statement = settlement.create_statement(tx, principal=current_principal(), **data)
            tx.commit()
        return statement


@blp.route("/appliance-settlements/<int:application_id>")
class SettlementItem(MethodView):
    """One statement."""

    @access(Role.DEALER_CLERK, Role.FINANCE_OFFICER, *BUREAU)
    @blp.response(200, s.StatementDetailOut)
    def get(self, application_id: int) -> Any:
        """Show a statement's lines, clawbacks and fraud signals."""
        with uow() as tx:
            return settlement.statement_lines(tx, principal=current_principal(), application_id=application_id)


@blp.route("/appliance-sales/bulk")
class BulkSales(MethodView):
    """A day's sales as a CSV or XLSX file."""

    @access(Role.DEALER_CLERK)
    @body_limit(TABLE_FILE_LIMIT)
    @blp.response(200, s.BulkOut)
    def post(self) -> Any:
        """Upload a day's sales (field `file`, form field `store_id`); large files run as a job to poll."""
        filename, data = upload()
        try:
            store_id = int(request.form.get("store_id", ""))
        except ValueError:
            raise ValidationFailed.field("store_id", "请指定门店 / name the store") from None
        with uow() as tx:
            ref = bulk.upload(tx, principal=current_principal(), versions=version_cache().versions(tx),
                              store_id=store_id, filename=filename, data=data,
                              limits=fraud.thresholds(runtime().settings))
            tx.commit()
        return {**ref.__dict__, "status_url": f"/api/v1/jobs/{ref.job_id}" if ref.job_id else None}


@blp.route("/appliance-sales/bulk/<int:upload_id>")
class BulkSalesItem(MethodView):
    """One upload."""

    @access(Role.DEALER_CLERK)
    @blp.response(200, s.BulkOut)
    def get(self, upload_id: int) -> Any:
        """Show an upload's state and, once processed, its report."""
        with uow() as tx:
            ref = bulk.upload_status(tx, principal=current_principal(), upload_id=upload_id)
        return {**ref.__dict__, "status_url": f"/api/v1/jobs/{ref.job_id}" if ref.job_id else None}
