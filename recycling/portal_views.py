"""The recycler clerk's portal: sites, certificates, intake records and files, transfers and stock per site."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from recycling import form_input as f
from recycling import imports, intake, issuing, sites, stock, transfers
from recycling.domain import CATEGORIES, QUALIFICATION_LABELS, SITE_LEVEL_LABELS, SOURCE_LABELS, SiteLevel
from recycling.paging import page_number
from recycling.site_kinds import SITE_KIND_LABELS, SiteKind
from subsidy_app.access import access, current_principal
from subsidy_app.bodies import TABLE_FILE_LIMIT, body_limit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import COUNTIES, Role

bp = Blueprint("recycling_portal", __name__, template_folder="templates")
CLERK = Role.RECYCLER_CLERK
TEMPLATES = "recycling/portal/"

SITE_LABELS = {"code": "网点编码", "name": "网点名称", "level": "网点层级", "kind": "网点类型",
               "county_code": "所在区县", "address": "地址"}
CERT_FILTER_LABELS = {"state": "状态", "issued_from": "开具日期起", "issued_to": "开具日期止",
                      "q": "编号或车辆识别代号"}
INTAKE_FILTER_LABELS = {"site_id": "回收网点", "date_from": "日期起", "date_to": "日期止"}
REVERSAL_LABELS = {"reason": "冲销原因"}
IMPORT_LABELS = {"file": "回收记录文件", "mode": "导入方式"}
ROW_LABELS = {"site_code": "网点编码", "source": "来源", "category": "品类", "units": "数量", "weight_kg": "重量kg",
              "occurred_on": "日期", "certificate_number": "回收证明编号", "trade_in_ref": "以旧换新单号",
              "note": "备注", "row": "整行"}
TRANSFER_LABELS = {"from_site_id": "调出网点", "to_site_id": "调入网点", "category": "品类", "units": "数量",
                   "weight_kg": "重量", "occurred_on": "日期"}
IMPORT_MODES = {"valid_only": "只导入无误的行，有误的行列出", "all_or_nothing": "任何一行有误则整个文件不导入"}
IMPORT_STATUS = {"queued": "导入中", "done": "已导入", "rejected": "未导入"}
NAMES = {"categories": {code: label for code, (_d, label) in CATEGORIES.items()}, "counties": COUNTIES,
         "levels": {str(k): v for k, v in SITE_LEVEL_LABELS.items()},
         "kinds": {str(k): v for k, v in SITE_KIND_LABELS.items()},
         "sources": {str(k): v for k, v in SOURCE_LABELS.items()},
         "qualifications": {str(k): v for k, v in QUALIFICATION_LABELS.items()}}


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return render_template(TEMPLATES + template, **NAMES, **context), status


def _refused(exc: DomainError, labels: dict[str, str]) -> tuple[PageError, int]:
    if exc.status == 404:  # another recycler's object: the error page, never a form
        raise exc
    return for_staff(exc, labels=labels), exc.status


# --- sites


def _sites_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        register = sites.site_register(tx, principal=current_principal())
    return _render("sites.html", status, register=register, error=error, labels=SITE_LABELS, form=request.form)


@bp.route("/recycling/sites")
@access(CLERK)
def site_list() -> ResponseReturnValue:
    """List the clerk's recycler's sites and licences, with the form registering a site."""
    return _sites_page()


@bp.route("/recycling/sites", methods=["POST"])
@access(CLERK)
def register_site() -> ResponseReturnValue:
    """Register a site of the clerk's own recycler."""
    form = request.form
    try:
        read = FieldErrors()
        level = read.value(partial(f.choice, form, "level", tuple(SiteLevel)), "")
        kind = read.value(partial(f.choice, form, "kind", tuple(SiteKind)), "")
        county = read.value(partial(f.choice, form, "county_code", tuple(COUNTIES)), "")
        code = read.value(partial(f.text, form, "code", max_length=30), "")
        name = read.value(partial(f.text, form, "name", max_length=100), "")
        address = read.value(partial(f.text, form, "address", max_length=200), "")
        read.raise_any()
        with uow() as tx:
            sites.register_site(tx, actor=current_principal().actor,
                                organisation_id=current_principal().organisation_id or 0, code=code, name=name,
                                level=SiteLevel(level), county_code=county, address=address, kind=SiteKind(kind))
            tx.commit()
    except DomainError as exc:
        return _sites_page(*_refused(exc, SITE_LABELS))
    flash(f"已登记回收网点 {name}（{code}）", "ok")
    return redirect(url_for("recycling_portal.site_list"))


# --- certificates


@bp.route("/recycling/certificates")
@access(CLERK)
def certificate_list() -> ResponseReturnValue:
    """List the recycler's scrap certificates page by page, by state, issue date and number or VIN."""
    args, error, status, page = request.args, None, 200, None
    try:
        read = FieldErrors()
        where = issuing.CertificateFilter(
            state=read.value(partial(f.choice, args, "state", ("", *issuing.STATE_LABELS)), "") or None,
            issued_from=read.value(partial(f.optional_day, args, "issued_from"), None),
            issued_to=read.value(partial(f.optional_day, args, "issued_to"), None),
            search=read.value(partial(f.text, args, "q", max_length=60), ""))
        read.raise_any()
        with uow() as tx:
            page = issuing.certificate_page(tx, principal=current_principal(), number=page_number(args.get("page")),
                                            where=where)
    except DomainError as exc:
        error, status = _refused(exc, CERT_FILTER_LABELS)
    return _render("certificates.html", status, page=page, error=error, labels=CERT_FILTER_LABELS, args=args,
                   states=issuing.STATE_LABELS)


# --- intake records and their reversal


@bp.route("/recycling/intakes")
@access(CLERK)
def intake_list() -> ResponseReturnValue:
    """List the recycler's intake records page by page, by site and date range, each with its reversal."""
    args, error, status, page = request.args, None, 200, None
    with uow() as tx:
        own = sites.list_sites(tx, principal=current_principal())
    try:
        read = FieldErrors()
        site = read.value(partial(f.choice, args, "site_id", ("", *(str(s.id) for s in own))), "")
        date_from = read.value(partial(f.optional_day, args, "date_from"), None)
        date_to = read.value(partial(f.optional_day, args, "date_to"), None)
        read.raise_any()
        with uow() as tx:
            page = intake.intake_page(tx, principal=current_principal(), number=page_number(args.get("page")),
                                      site_id=int(site) if site else None, date_from=date_from, date_to=date_to)
    except DomainError as exc:
        error, status = _refused(exc, INTAKE_FILTER_LABELS)
    return _render("intakes.html", status, page=page, error=error, labels=INTAKE_FILTER_LABELS, args=args,
                   sites={s.id: s for s in own})


def _reversal_page(intake_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        record = intake.get_intake(tx, intake_id=intake_id, principal=current_principal())
        site = sites.site_view(sites.get_site(tx, site_id=record.site_id))
    return _render("reverse_intake.html", status, record=record, site=site, error=error, labels=REVERSAL_LABELS,
                   form=request.form)


@bp.route("/recycling/intakes/<int:intake_id>/reverse")
@access(CLERK)
def reverse_form(intake_id: int) -> ResponseReturnValue:
    """Show an intake record with the form reversing it (a correction never edits a record)."""
    return _reversal_page(intake_id)


@bp.route("/recycling/intakes/<int:intake_id>/reverse", methods=["POST"])
@access(CLERK)
def reverse(intake_id: int) -> ResponseReturnValue:
    """Reverse an intake record with a reason: its stock and tallies go back."""
    try:
        reason = f.text(request.form, "reason", max_length=200)
        with uow() as tx:
            reversal = intake.reverse_intake(tx, actor=current_principal().actor,
                                             acting_org_id=current_principal().organisation_id,
                                             intake_id=intake_id, reason=reason)
            tx.commit()
    except DomainError as exc:
        return _reversal_page(intake_id, *_refused(exc, REVERSAL_LABELS))
    flash(f"已冲销回收记录 #{intake_id}（冲销记录 #{reversal}）", "ok")
    return redirect(url_for("recycling_portal.intake_list"))


# --- intake files


def _upload_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    return _render("import_form.html", status, error=error, labels=IMPORT_LABELS, modes=IMPORT_MODES,
                   form=request.form, columns=imports.COLUMNS, optional=imports.OPTIONAL)


@bp.route("/recycling/imports")
@access(CLERK)
def import_form() -> ResponseReturnValue:
    """Show the form uploading a file of intake records (CSV or XLSX)."""
    return _upload_page()


@bp.route("/recycling/imports", methods=["POST"])
@access(CLERK)
@body_limit(TABLE_FILE_LIMIT)
def upload_intakes() -> ResponseReturnValue:
    """Queue an intake file as a job and open its page, which shows the job's progress and then the row errors."""
    upload = request.files.get("file")
    try:
        mode = f.choice(request.form, "mode", tuple(IMPORT_MODES))
        if upload is None or not upload.filename:
            raise ValidationFailed.field("file", "请选择回收记录文件（CSV 或 XLSX）/ choose the file")
        with uow() as tx:
            report = imports.import_intake_file(tx, actor=current_principal().actor,
                                                organisation_id=current_principal().organisation_id or 0,
                                                filename=upload.filename, content=upload.read(), mode=mode,
                                                queue=True)
            tx.commit()
    except DomainError as exc:
        return _upload_page(*_refused(exc, IMPORT_LABELS))
    return redirect(url_for("recycling_portal.import_page", import_id=report.import_id, job=report.job_id))


@bp.route("/recycling/imports/<int:import_id>")
@access(CLERK)
def import_page(import_id: int) -> ResponseReturnValue:
    """Show an intake file's import: the job's progress while it runs, then what was written and each bad row."""
    with uow() as tx:
        report = imports.get_import(tx, import_id=import_id, principal=current_principal())
    job = request.args.get("job", "")
    return _render("import.html", report=report, job_id=int(job) if job.isascii() and job.isdigit() else None,
                   statuses=IMPORT_STATUS, modes=IMPORT_MODES, row_labels=ROW_LABELS)


# --- transfers and stock


def _transfers_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    with uow() as tx:
        own = sites.list_sites(tx, principal=current_principal())
        page = transfers.transfer_page(tx, principal=current_principal(), number=page_number(request.args.get("page")))
    return _render("transfers.html", status, page=page, sites=own, error=error, labels=TRANSFER_LABELS,
                   form=request.form, today=business_date())


@bp.route("/recycling/transfers")
@access(CLERK)
def transfer_list() -> ResponseReturnValue:
    """List the transfers of the recycler's sites with the form moving material up the network."""
    return _transfers_page()


@bp.route("/recycling/transfers", methods=["POST"])
@access(CLERK)
def transfer() -> ResponseReturnValue:
    """Move material from one of the recycler's sites to another; refused when the sending site holds less."""
    form = request.form
    try:
        with uow() as tx:
            own = tuple(str(s.id) for s in sites.list_sites(tx, principal=current_principal()))
        read = FieldErrors()
        from_site = read.value(partial(f.choice, form, "from_site_id", own), "")
        to_site = read.value(partial(f.choice, form, "to_site_id", own), "")
        category = read.value(partial(f.choice, form, "category", tuple(CATEGORIES)), "")
        units = read.value(partial(f.whole, form, "units"), 0)
        weight = read.value(partial(f.decimal, form, "weight_kg"), Decimal(0))
        day = read.value(partial(f.day, form, "occurred_on"), dt.date.min)
        read.raise_any()
        with uow() as tx:
            new_id = stock.transfer_material(tx, actor=current_principal().actor,
                                             acting_org_id=current_principal().organisation_id,
                                             from_site_id=int(from_site), to_site_id=int(to_site), category=category,
                                             units=units, weight_kg=weight, occurred_on=day)
            tx.commit()
    except DomainError as exc:
        return _transfers_page(*_refused(exc, TRANSFER_LABELS))
    flash(f"已登记调运 #{new_id}", "ok")
    return redirect(url_for("recycling_portal.transfer_list"))


@bp.route("/recycling/stock")
@access(CLERK)
def stock_page() -> ResponseReturnValue:
    """Show what each of the recycler's sites holds, category by category."""
    with uow() as tx:
        held = stock.stock_by_site(tx, principal=current_principal())
    return _render("stock.html", held=held)
