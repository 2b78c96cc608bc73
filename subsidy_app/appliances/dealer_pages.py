"""The appliance dealer's pages: the till (sale, buyer code), sales with returns and pickups, stores and posters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.appliances import buyer as buyers
from subsidy_app.appliances import dealer_queries, fraud, participation, poster, selling
from subsidy_app.appliances.api_sales import note_clash, receipt_url
from subsidy_app.appliances.domain import SaleMode
from subsidy_app.applications import form_input as f
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import runtime, uow
from subsidy_app.identity.domain import Role
from subsidy_app.rules.services import version_cache

bp = Blueprint("appliance_dealer_pages", __name__, template_folder="templates")
CLERK = Role.DEALER_CLERK
PAGE_SIZE = 50
TILL_LABELS = {
    "store_id": "门店", "gtin": "商品条码", "price": "成交价", "serial_number": "序列号/IMEI",
    "invoice_number": "发票号码", "invoice_code": "发票代码", "delivery_address": "送货地址", "mode": "补贴方式",
    "buyer_token": "购买人确认码", "buyer_name": "购买人姓名", "buyer_id_number": "购买人身份证号",
    "buyer_phone": "购买人手机号", "buyer_code": "短信验证码",
}
# The resident identity service and the token reader name their fields as the resident's pages do.
TILL_ALIASES = {"name": "buyer_name", "id_number": "buyer_id_number", "phone": "buyer_phone", "code": "buyer_code",
                "token": "buyer_token", "buyer": "buyer_token"}
SALE_LABELS = {"reason": "退货原因", "picked_up_on": "收旧日期"}
STORE_LABELS = {"name": "门店名称", "address": "门店地址", "opens_at": "开门时间", "closes_at": "关门时间"}
_TEXTS = ("gtin", "serial_number", "invoice_number", "invoice_code", "delivery_address", "buyer_token", "buyer_name",
          "buyer_id_number", "buyer_phone", "buyer_code")


def page_number() -> int:
    """The list page asked for (1 when absent or unreadable)."""
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def _till_page(error: PageError | None = None, status: int = 200, outcome: selling.SaleOutcome | None = None,
               notice: str | None = None) -> ResponseReturnValue:
    with uow() as tx:
        stores = participation.list_stores(tx, principal=current_principal())
    form = request.form.to_dict() if request.method == "POST" else {"mode": "instant"}
    form.pop("buyer_code", None)  # a one-time code is typed again, never shown back
    return render_template("appliances/dealer/till.html", stores=stores, form=form, error=error, outcome=outcome,
                           notice=notice, labels=TILL_LABELS), status


@bp.route("/dealer/appliances/till")
@access(CLERK)
def till() -> ResponseReturnValue:
    """The till for stores without a point-of-sale integration: the product, the invoice and the buyer."""
    return _till_page()


@bp.route("/dealer/appliances/till/code", methods=["POST"])
@access(CLERK)
def till_code() -> ResponseReturnValue:
    """Send the buyer a one-time code; the till is shown again as typed (the ID number stays out of the session)."""
    try:
        with uow() as tx:
            buyers.send_code(tx, phone=f.text(request.form, "buyer_phone"))
            tx.commit()
    except DomainError as exc:
        return _till_page(for_staff(exc, labels=TILL_LABELS, aliases=TILL_ALIASES), exc.status)
    return _till_page(notice="验证码已发送到购买人手机,5 分钟内有效;请购买人告知验证码后填写。")


def _sale_input() -> tuple[selling.SaleInput, SaleMode, dict[str, str]]:
    """The till's fields, every unreadable one refused at once, naming it."""
    form, read = request.form, FieldErrors()
    store_id = read.value(partial(f.integer, form, "store_id"), 0)
    price = read.value(partial(f.money, form, "price"), Decimal("0"))
    mode = read.value(partial(f.choice, form, "mode", ("instant", "claim")), "instant")
    texts = {name: read.value(partial(f.text, form, name, max_length=300), "") for name in _TEXTS}
    read.raise_any()
    sale = selling.SaleInput(store_id=store_id, gtin=texts["gtin"], serial_number=texts["serial_number"], price=price,
                             invoice_number=texts["invoice_number"], invoice_code=texts["invoice_code"] or None,
                             delivery_address=texts["delivery_address"] or None)
    return sale, SaleMode(mode), texts


@bp.route("/dealer/appliances/till", methods=["POST"])
@access(CLERK)
def till_sell() -> ResponseReturnValue:
    """Record the sale as the till's API does: the buyer verified, the subsidy and quota held when instant."""
    principal, settings = current_principal(), runtime().settings
    try:
        sale, mode, texts = _sale_input()
        with uow() as tx:
            buyer = buyers.resolve(tx, secret_key=settings.secret_key, actor=principal.actor, store_id=sale.store_id,
                                   token=texts["buyer_token"] or None, name=texts["buyer_name"] or None,
                                   id_number=texts["buyer_id_number"] or None, phone=texts["buyer_phone"] or None,
                                   code=texts["buyer_code"] or None)
            outcome = selling.sell(tx, principal=principal, versions=version_cache().versions(tx), data=sale,
                                   buyer=buyer, mode=mode, limits=fraud.thresholds(settings))
            tx.commit()
    except selling.SerialTaken as taken:
        note_clash(taken)
        return _till_page(for_staff(taken, labels=TILL_LABELS), taken.status)
    except DomainError as exc:
        return _till_page(for_staff(exc, labels=TILL_LABELS, aliases=TILL_ALIASES), exc.status)
    if not outcome.eligible or outcome.sale_id is None:  # nothing recorded: the clerk sees why, the form as typed
        return _till_page(outcome=outcome)
    flash(f"销售已登记:{outcome.number},补贴 {outcome.amount:.2f} 元。", "ok")
    return redirect(url_for("appliance_dealer_pages.sale_detail", sale_id=outcome.sale_id))


@bp.route("/dealer/appliances/till/quote", methods=["POST"])
@access(CLERK)
def till_quote() -> ResponseReturnValue:
    """Show the subsidy the sale would earn before the buyer is verified; nothing is recorded or held."""
    try:
        sale, _mode, _texts = _sale_input()
        with uow() as tx:
            outcome = selling.quote(tx, principal=current_principal(), versions=version_cache().versions(tx),
                                    data=sale)
    except DomainError as exc:
        return _till_page(for_staff(exc, labels=TILL_LABELS, aliases=TILL_ALIASES), exc.status)
    return _till_page(outcome=outcome)


def _period() -> tuple[dict[str, Any], PageError | None]:
    """The sales list's filters from the query (today by default); a bad one is named and left at its default."""
    args, read, today = request.args, FieldErrors(), business_date()
    date_from = read.value(partial(f.date, args, "date_from"), today) if args.get("date_from") else today
    date_to = read.value(partial(f.date, args, "date_to"), today) if args.get("date_to") else date_from
    store = read.value(partial(f.integer, args, "store_id"), None) if args.get("store_id") else None
    state = args.get("state") if args.get("state") in dealer_queries.STATE_ZH else None
    filters = {"date_from": date_from, "date_to": max(date_to, date_from), "store_id": store, "state": state}
    try:
        read.raise_any()
    except DomainError as exc:
        return filters, for_staff(exc, labels={"date_from": "起始日期", "date_to": "截止日期", "store_id": "门店"})
    return filters, None


def _sales_page(endpoint: str, state: str | None = None) -> ResponseReturnValue:
    filters, error = _period()
    filters["state"] = state or filters["state"]
    page = page_number()
    with uow() as tx:
        found = dealer_queries.list_sales(tx, principal=current_principal(), limit=PAGE_SIZE,
                                          offset=(page - 1) * PAGE_SIZE, **filters)
        stores = participation.list_stores(tx, principal=current_principal())
    return render_template("appliances/dealer/sales.html", found=found, stores=stores, filters=filters, page=page,
                           size=PAGE_SIZE, states=dealer_queries.STATE_ZH, error=error,
                           endpoint=endpoint), 422 if error else 200


@bp.route("/dealer/appliances/sales")
@access(CLERK)
def sales() -> ResponseReturnValue:
    """The dealer's sales of a period (today's by default), with the subsidy in total."""
    return _sales_page("appliance_dealer_pages.sales")


@bp.route("/dealer/appliances/returns")
@access(CLERK)
def returns() -> ResponseReturnValue:
    """The dealer's returns of a period (today's by default), by the day each was returned."""
    return _sales_page("appliance_dealer_pages.returns", dealer_queries.RETURNED)


def _sale_page(sale_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        sale = dealer_queries.sale_detail(tx, principal=current_principal(), sale_id=sale_id)
    token = (receipt_url(sale["apply_code"]) or "").rsplit("/", 1)[-1]
    return render_template("appliances/dealer/sale.html", sale=sale, error=error, labels=SALE_LABELS,
                           receipt_qr=url_for("appliance_resident.claim_qr", token=token),
                           today=business_date(), form=request.form), status


@bp.route("/dealer/appliances/sales/<int:sale_id>")
@access(CLERK)
def sale_detail(sale_id: int) -> ResponseReturnValue:
    """One sale: the subsidy, the receipt QR for the buyer, the return and the old item's pickup."""
    return _sale_page(sale_id)


@bp.route("/dealer/appliances/sales/<int:sale_id>/return", methods=["POST"])
@access(CLERK)
def sale_return(sale_id: int) -> ResponseReturnValue:
    """Record a return with its reason: the subsidy is clawed back, the buyer's quota stays used."""
    try:
        reason = f.text(request.form, "reason", max_length=300)
        with uow() as tx:
            selling.return_sale(tx, principal=current_principal(), sale_id=sale_id, reason=reason)
            tx.commit()
    except DomainError as exc:
        return _sale_page(sale_id, for_staff(exc, labels=SALE_LABELS), exc.status)
    flash("已登记退货:补贴将从本店结算中扣回,购买人的补贴名额不恢复。", "ok")
    return redirect(url_for("appliance_dealer_pages.sale_detail", sale_id=sale_id))


@bp.route("/dealer/appliances/sales/<int:sale_id>/pickup", methods=["POST"])
@access(CLERK)
def sale_pickup(sale_id: int) -> ResponseReturnValue:
    """Record the day the store collected the buyer's old appliance (送新收旧)."""
    try:
        day = f.date(request.form, "picked_up_on")
        with uow() as tx:
            selling.record_pickup(tx, principal=current_principal(), sale_id=sale_id, picked_up_on=day)
            tx.commit()
    except DomainError as exc:
        return _sale_page(sale_id, for_staff(exc, labels=SALE_LABELS), exc.status)
    flash(f"已登记收旧:{day:%Y-%m-%d}。旧件交投回收企业后闭环完成。", "ok")
    return redirect(url_for("appliance_dealer_pages.sale_detail", sale_id=sale_id))


def _stores_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        found = participation.store_standings(tx, principal=current_principal())
    return render_template("appliances/dealer/stores.html", stores=found, names=poster.CATEGORY_ZH, error=error,
                           labels=STORE_LABELS, form=request.form), status


@bp.route("/dealer/appliances/stores")
@access(CLERK)
def stores() -> ResponseReturnValue:
    """The dealer's stores, each with the categories approved for it and its poster as PNG, SVG and PDF."""
    return _stores_page()


def _time(name: str) -> dt.time | None:
    raw = f.text(request.form, name)
    try:
        return dt.time.fromisoformat(raw) if raw else None
    except ValueError:
        raise ValidationFailed.field(name, "时间格式应为 HH:MM / time must be HH:MM") from None


@bp.route("/dealer/appliances/stores", methods=["POST"])
@access(CLERK)
def open_store() -> ResponseReturnValue:
    """Open a store; the county bureau then approves it for its categories before it sells with a subsidy."""
    try:
        read = FieldErrors()
        name = read.value(partial(f.text, request.form, "name", max_length=200), "")
        address = read.value(partial(f.text, request.form, "address", max_length=300), "")
        opens_at = read.value(partial(_time, "opens_at"), None)
        closes_at = read.value(partial(_time, "closes_at"), None)
        for field, value in (("name", name), ("address", address)):
            if not value and not read.refused(field):  # reported with the other fields, not after them
                read.add(field, "必填 / required")
        read.raise_any()
        with uow() as tx:
            store = participation.create_store(tx, principal=current_principal(), name=name, address=address,
                                               opens_at=opens_at, closes_at=closes_at)
            tx.commit()
    except DomainError as exc:
        return _stores_page(for_staff(exc, labels=STORE_LABELS), exc.status)
    flash(f"门店“{store.name}”已登记,待区县商务主管部门审批品类后即可下载海报、办理补贴销售。", "ok")
    return redirect(url_for("appliance_dealer_pages.stores"))

