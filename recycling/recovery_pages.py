"""Bureau pages for recovery: baselines, targets and progress; the ten-day and monthly workbooks, made on demand."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from recycling import reports, targets
from recycling.domain import INDICATOR_LABELS
from subsidy_app.access import access, current_principal
from subsidy_app.bodies import TABLE_FILE_LIMIT, body_limit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import DomainError, ValidationFailed
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity import visibility
from subsidy_app.identity.domain import COUNTIES, Role

bp = Blueprint("recovery_pages", __name__, template_folder="templates")
BUREAU = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.BUREAU_LEADER)
MAKERS = (Role.ADMIN, Role.SENIOR_AUDITOR)  # as POST /api/v1/recovery/reports declares
PAGE_SIZE = 50
LABELS = {"file": "数据文件", "county_code": "区县", "indicator": "指标", "year": "年份", "value": "数值",
          "baseline_year": "基期年份", "target_year": "目标年份", "factor": "倍数", "period": "报表期间"}
KIND_LABELS = {"ten_day": "旬报", "monthly": "月报"}


def _counties() -> list[str]:
    """The counties the page covers: the one chosen, if the caller may see it, or all the caller's."""
    principal = current_principal()
    own = list(COUNTIES) if principal.all_counties else sorted(principal.counties)
    chosen = request.args.get("county_code", "")
    return [chosen] if chosen in own else own


def _overview(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    counties = _counties()
    with uow() as tx:
        figures = targets.overview(tx, as_of=business_date(), counties=counties)
    principal = current_principal()
    own = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    return render_template("recycling/recovery.html", figures=figures, indicators=INDICATOR_LABELS,
                           counties=COUNTIES, own_counties=own, chosen=request.args.get("county_code", ""),
                           scope=counties, error=error, labels=LABELS,
                           may_load=Role.ADMIN in principal.roles and visibility.sees_every_county(principal)), status


@bp.route("/recovery")
@access(*BUREAU)
def overview() -> ResponseReturnValue:
    """Show each indicator's progress against the 2027 target, the targets and the 2023 baselines."""
    return _overview()


def _load(kind: str) -> ResponseReturnValue:
    """Load an uploaded baseline or target table (city-level admins only: the figures are the whole city's)."""
    principal = current_principal()
    visibility.require(visibility.sees_every_county(principal))
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed.field("file", "请选择 CSV 或 XLSX 文件 / choose a CSV or XLSX file")
        with uow() as tx:
            load = targets.load_baselines if kind == "baselines" else targets.load_targets
            count = load(tx, actor=principal.actor, content=upload.read(), source=upload.filename[:60])
            tx.commit()
    except DomainError as exc:
        return _overview(for_staff(exc, labels=LABELS, aliases={name: "file" for name in LABELS if name != "file"}),
                         exc.status)
    flash(f"已载入{'回收基数' if kind == 'baselines' else '目标'} {count} 行。", "ok")
    return redirect(url_for("recovery_pages.overview"))


@bp.route("/recovery/baselines", methods=["POST"])
@access(Role.ADMIN)
@body_limit(TABLE_FILE_LIMIT)
def load_baselines() -> ResponseReturnValue:
    """Load a baseline table (county_code, indicator, year, value[, source]); earlier values are replaced."""
    return _load("baselines")


@bp.route("/recovery/targets", methods=["POST"])
@access(Role.ADMIN)
@body_limit(TABLE_FILE_LIMIT)
def load_targets() -> ResponseReturnValue:
    """Load a target table (indicator, baseline_year, target_year, factor[, source])."""
    return _load("targets")


def _reports_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    text = request.args.get("page", "1")
    page = min(int(text), 10_000) if text.isdigit() and int(text) > 0 else 1
    kind = request.args.get("kind") if request.args.get("kind") in KIND_LABELS else None
    with uow() as tx:
        total = reports.count_reports(tx, kind=kind)
        rows = reports.list_reports(tx, kind=kind, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render_template("recycling/reports.html", rows=rows, total=total, page=page, page_size=PAGE_SIZE,
                           kind=kind, kinds=KIND_LABELS, periods=reports.recent_periods(), error=error,
                           labels=LABELS, may_make=bool(current_principal().roles & set(MAKERS)),
                           form=request.form), status


@bp.route("/recovery/reports")
@access(*BUREAU)
def report_list() -> ResponseReturnValue:
    """List the stored ten-day and monthly workbooks with their downloads; makers also see the generate form."""
    return _reports_page()


@bp.route("/recovery/reports", methods=["POST"])
@access(*MAKERS)
def report_generate() -> ResponseReturnValue:
    """Start building a period's workbook in the background, then follow its progress."""
    try:
        with uow() as tx:
            job_id = reports.request_report(tx, requested_by=current_principal().actor,
                                            period_code=request.form.get("period", "")[:20],
                                            replace=request.form.get("replace") == "1")
            tx.commit()
    except DomainError as exc:
        return _reports_page(for_staff(exc, labels=LABELS), exc.status)
    return redirect(url_for("recovery_pages.report_job", job_id=job_id))


@bp.route("/recovery/reports/jobs/<int:job_id>")
@access(*MAKERS)
def report_job(job_id: int) -> ResponseReturnValue:
    """Show a workbook build's progress bar; once done, the workbook to download."""
    principal = current_principal()
    with uow() as tx:
        job = reports.report_job(tx, job_id=job_id, actor=principal.actor,
                                 sees_all=Role.ADMIN in principal.roles and visibility.sees_every_county(principal))
    return render_template("recycling/report_job.html", job=job, kinds=KIND_LABELS)


@bp.route("/recovery/reports/<int:report_id>.xlsx")
@access(*BUREAU)
def report_download(report_id: int) -> ResponseReturnValue:
    """Download a stored workbook."""
    with uow() as tx:
        info, content = reports.report_content(tx, report_id=report_id)
    return Response(content, mimetype=reports.XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{info.filename}"'})

