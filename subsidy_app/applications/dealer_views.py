"""Dealer clerks' pages: register a new-car sale, print its QR code for the buyer, list the dealer's sales."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.applications import form_input as f
from subsidy_app.applications import sales, staff_queries
from subsidy_app.core.errors import DomainError, FieldErrors
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role

bp = Blueprint("dealer_pages", __name__, template_folder="templates")
FIELD_LABELS = {
    "new_vin": "新车车架号", "invoice_number": "发票号码", "invoice_code": "发票代码", "invoice_date": "开票日期",
    "invoice_total": "价税合计", "price_excl_tax": "不含税价", "new_vehicle_type": "车辆类型",
    "nev_catalogue_ref": "新能源车型目录批次/型号", "displacement_l": "排量", "buyer_name": "购车人姓名",
    "buyer_id_number": "购车人身份证号",
}


def _apply_url(sale: sales.SaleView) -> str:
    settings = runtime().settings
    token = sales.apply_token(settings.secret_key, sale, days=settings.qr_token_days)
    return settings.public_base_url + url_for("resident.car_landing", token=token)


@bp.route("/dealer/car-sales")
@access(Role.DEALER_CLERK)
def sale_list() -> ResponseReturnValue:
    """List the dealer's car sales with their applications' states."""
    with uow() as tx:
        rows = staff_queries.dealer_sales(tx, principal=current_principal())
    return render_template("applications/staff/sales.html", sales=rows)


@bp.route("/dealer/car-sales/new", methods=["GET", "POST"])
@access(Role.DEALER_CLERK)
def sale_form() -> ResponseReturnValue:
    """Show the sale form; register the sale and go to its printable QR page."""
    if request.method == "GET":
        return _form_page({"new_vehicle_type": "nev"}, None)
    form = request.form
    errors = FieldErrors()  # each unreadable field is reported with the sale's own refusals, all at once
    vehicle_type = errors.value(lambda: f.choice(form, "new_vehicle_type", ("nev", "fuel")), "")
    invoice_date = errors.value(lambda: f.date(form, "invoice_date"), dt.date.min)
    invoice_total = errors.value(lambda: f.money(form, "invoice_total"), Decimal("0.00"))
    price_excl_tax = errors.value(lambda: f.optional_decimal(form, "price_excl_tax"), None)
    displacement = errors.value(lambda: f.optional_decimal(form, "displacement_l"), None)
    texts = {name: errors.value(partial(f.text, form, name, max_length=60 if name == "nev_catalogue_ref" else 2000), "")
             for name in ("new_vin", "invoice_number", "invoice_code", "nev_catalogue_ref", "buyer_name",
                          "buyer_id_number")}
    try:
        with uow() as tx:
            sale = sales.register_car_sale(
                tx, principal=current_principal(), new_vin=texts["new_vin"], invoice_number=texts["invoice_number"],
                invoice_code=texts["invoice_code"] or None, invoice_date=invoice_date, invoice_total=invoice_total,
                price_excl_tax=price_excl_tax, new_vehicle_type=vehicle_type,
                nev_catalogue_ref=texts["nev_catalogue_ref"] or None,
                displacement_l=displacement if vehicle_type == "fuel" else None,
                buyer_name=texts["buyer_name"], buyer_id_number=texts["buyer_id_number"], errors=errors)
            covered = sales.programmes_covering(tx, invoice_date=sale.invoice_date)
            tx.commit()
    except DomainError as exc:
        return _form_page(form.to_dict(), f.page_error(exc, FIELD_LABELS), exc.status)
    flash(f"销售已登记:车架号 {sale.new_vin}。请打印二维码交购车人扫码申请补贴。", "ok")
    if not covered:  # registered all the same: the date may be a typo the dealer corrects with the bureau
        flash(f"注意:发票日期 {sale.invoice_date} 不在任何汽车以旧换新补贴规则的适用期内,购车人将无法据此申请补贴。"
              "请核对发票日期。", "warn")
    return redirect(url_for("dealer_pages.sale_detail", sale_id=sale.id))


def _form_page(form: dict[str, str], error: dict[str, Any] | None, status: int = 200) -> ResponseReturnValue:
    if form.get("new_vehicle_type") not in ("nev", "fuel"):
        form = {**form, "new_vehicle_type": "nev"}
    return render_template("applications/staff/sale_form.html", form=form, error=error,
                           labels=FIELD_LABELS), status


@bp.route("/dealer/car-sales/<int:sale_id>")
@access(Role.DEALER_CLERK)
def sale_detail(sale_id: int) -> ResponseReturnValue:
    """Show a sale (buyer masked) with its QR code, ready to print."""
    with uow() as tx:
        sale = sales.get_sale(tx, sale_id=sale_id, principal=current_principal())
    return render_template("applications/staff/sale_detail.html", sale=sale, apply_url=_apply_url(sale),
                           qr_png=url_for("applications.CarSaleQr", sale_id=sale.id, fmt="png"),
                           qr_svg=url_for("applications.CarSaleQr", sale_id=sale.id, fmt="svg"))
