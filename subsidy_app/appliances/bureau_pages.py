"""The county bureau's appliance pages: store and dealer participation, the catalogue import, dealer statements."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.appliances import catalogue, participation, settlement
from subsidy_app.appliances.domain import APPLIANCE_CATEGORIES, CATEGORY_ZH, DIGITAL_CATEGORIES
from subsidy_app.applications.domain import STATE_LABELS_ZH, State
from subsidy_app.bodies import TABLE_FILE_LIMIT, body_limit
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.text import checked_text
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import COUNTIES, Role
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

bp = Blueprint("appliance_bureau_pages", __name__, template_folder="templates")
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)  # as the appliance API declares
PAGE_SIZE = 50
CATEGORIES = {c: CATEGORY_ZH[c] for c in (*APPLIANCE_CATEGORIES, *DIGITAL_CATEGORIES)}
STATUS_ZH = {"approved": "已批准", "suspended": "已暂停"}
DECIDE_LABELS = {"scope": "经销商或门店", "category": "品类", "status": "决定", "reason": "暂停原因"}
IMPORT_LABELS = {"file": "商品目录文件"}
COLUMN_ZH = {"gtin": "商品条码", "category": "品类", "brand": "品牌", "model": "型号", "energy_grade": "能效等级",
             "water_grade": "水效等级", "reference_price": "参考价", "row": "整行"}
STATEMENT_STATES = (State.PENDING_REVIEW, State.PENDING_SECOND_REVIEW, State.AWAITING_FUNDS, State.RETURNED,
                    State.APPROVED, State.IN_PAYMENT, State.PAID, State.REJECTED, State.REVOKED)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), MAX_ID) if raw.isdigit() and int(raw) > 0 else 1


def _arg_id(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _participations_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    chosen_status = request.args.get("status") if request.args.get("status") in STATUS_ZH else None
    category = request.args.get("category") if request.args.get("category") in CATEGORIES else None
    page = _page_number()
    with uow() as tx:
        rows, total = participation.participation_page(
            tx, principal=principal, status=chosen_status, category=category, dealer_org_id=_arg_id("dealer"),
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        stores = participation.list_stores(tx, principal=principal)
    dealers = {s.dealer_org_id: s.dealer_name for s in stores}
    return render_template(
        "appliances/bureau/participations.html", rows=rows, total=total, page=page, size=PAGE_SIZE,
        stores=stores, dealers=dealers, categories=CATEGORIES, statuses=STATUS_ZH, counties=COUNTIES,
        programmes=PROGRAMME_LABELS_ZH, status=chosen_status or "", category=category or "",
        dealer=_arg_id("dealer"), error=error, labels=DECIDE_LABELS, form=request.form), status


@bp.route("/bureau/participations")
@access(*BUREAU)
def participations() -> ResponseReturnValue:
    """List dealers' and stores' approvals and suspensions in the caller's counties, with the decision form."""
    return _participations_page()


def _text(name: str, max_length: int = 100, multiline: bool = False) -> str:
    return checked_text(request.form.get(name), field=name, max_length=max_length, multiline=multiline)


@bp.route("/bureau/participations", methods=["POST"])
@access(*BUREAU)
def decide() -> ResponseReturnValue:
    """Approve or suspend (with a reason) a dealer or one store for a category; audited."""
    try:
        read = FieldErrors()
        values: dict[str, Any] = {"scope": read.value(lambda: _text("scope"), ""),
                                  "category": read.value(lambda: _text("category"), ""),
                                  "status": read.value(lambda: _text("status"), ""),
                                  "reason": read.value(lambda: _text("reason", 500, multiline=True), "")}
        read.raise_any()
        with uow() as tx:
            done = participation.decide_scope(tx, principal=current_principal(), **values)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            exc = ValidationFailed.field("scope", "经销商或门店不存在 / no such dealer or store")
        return _participations_page(for_staff(exc, labels=DECIDE_LABELS), exc.status)
    flash(f"{STATUS_ZH[done.status]}:{CATEGORIES.get(done.category, done.category)}(已记入审计记录)。", "ok")
    return redirect(url_for("appliance_bureau_pages.participations"))


@bp.route("/bureau/participations/<int:participation_id>")
@access(*BUREAU)
def history(participation_id: int) -> ResponseReturnValue:
    """Show one dealer's or store's standing for a category and every decision it went through."""
    with uow() as tx:
        row, lines = participation.participation_history(tx, principal=current_principal(),
                                                         participation_id=participation_id)
    return render_template("appliances/bureau/participation.html", row=row, lines=lines, categories=CATEGORIES,
                           statuses=STATUS_ZH, counties=COUNTIES)


@bp.route("/bureau/catalogue")
@access(*BUREAU)
def catalogue_form() -> ResponseReturnValue:
    """Show the catalogue import form and the columns a file must have."""
    return render_template("appliances/bureau/catalogue.html", report=None, error=None, labels=IMPORT_LABELS,
                           columns=catalogue.COLUMNS, column_zh=COLUMN_ZH)


@bp.route("/bureau/catalogue", methods=["POST"])
@access(*BUREAU)
@body_limit(TABLE_FILE_LIMIT)
def catalogue_import() -> ResponseReturnValue:
    """Import a CSV/XLSX catalogue: good rows are saved, each bad row is listed with its line, column and reason."""
    upload = request.files.get("file")
    error: PageError | None = None
    report = None
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed.field("file", "请选择商品目录文件(CSV 或 XLSX)/ choose a CSV or XLSX file")
        with uow() as tx:
            report = catalogue.import_products(tx, actor=current_principal().actor, filename=upload.filename,
                                               data=upload.read())
            tx.commit()
    except DomainError as exc:
        error = for_staff(exc, labels=IMPORT_LABELS, aliases={name: "file" for name in exc.errors})
    return render_template("appliances/bureau/catalogue.html", report=report, error=error, labels=IMPORT_LABELS,
                           columns=catalogue.COLUMNS, column_zh=COLUMN_ZH), 422 if error else 200


@bp.route("/bureau/statements")
@access(*BUREAU)
def statements() -> ResponseReturnValue:
    """List dealer settlement statements in the caller's counties, filtered by state; each opens its review."""
    chosen = request.args.get("state", "")
    state = State(chosen) if chosen in {s.value for s in STATEMENT_STATES} else None
    page = _page_number()
    with uow() as tx:
        rows, total = settlement.list_statements(tx, principal=current_principal(), state=state,
                                                 dealer_org_id=_arg_id("dealer"), limit=PAGE_SIZE,
                                                 offset=(page - 1) * PAGE_SIZE)
    return render_template("appliances/bureau/statements.html", rows=rows, total=total, page=page, size=PAGE_SIZE,
                           states=[(s.value, STATE_LABELS_ZH[s]) for s in STATEMENT_STATES],
                           chosen=state.value if state else "", counties=COUNTIES)
