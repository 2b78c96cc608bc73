"""Complaint pages: the staff workbench's case list, case page and phone form; the resident's mobile form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.applications.queries import case_subject
from subsidy_app.core.errors import DomainError
from subsidy_app.core.limits import MAX_ID
from subsidy_app.core.qr import read_token
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import limiter, runtime, uow
from subsidy_app.identity.domain import COUNTIES, Role, actor_label
from subsidy_app.oversight import complaint_queries as queries
from subsidy_app.oversight import complaint_services as cases
from subsidy_app.oversight.complaint_domain import (
    CASE_STATE_LABELS_ZH,
    CATEGORY_LABELS_ZH,
    KIND_LABELS_ZH,
    CaseState,
)

bp = Blueprint("complaint_pages", __name__, template_folder="templates")
HANDLERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.ADMIN)
STATUS_PURPOSE = "application-status"  # the salt applications.views signs status tokens with (a test holds them equal)
LABELS = {"category": "类别", "text": "内容", "application_number": "申请编号", "county": "区县", "kind": "类型",
          "reply": "答复内容", "assignee": "分派给"}
CATEGORIES = {c.value: label for c, label in CATEGORY_LABELS_ZH.items()}
STATES = {s.value: label for s, label in CASE_STATE_LABELS_ZH.items()}
KINDS = {k.value: label for k, label in KIND_LABELS_ZH.items()}


def terms() -> cases.Terms:
    """The configured deadline, working calendar and appeal window."""
    return cases.terms_from(runtime().settings)


def _arg(name: str, allowed: dict[str, str]) -> str | None:
    value = request.args.get(name, "")
    return value if value in allowed else None


def _arg_id(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


@bp.route("/oversight/cases")
@access(*HANDLERS)
def case_list() -> ResponseReturnValue:
    """List complaints and appeals in the caller's counties, filtered, a page at a time."""
    principal = current_principal()
    raw_page = request.args.get("page", "1")
    page = min(int(raw_page), MAX_ID) if raw_page.isdigit() and int(raw_page) > 0 else 1
    counties = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    overdue = {"1": True, "0": False}.get(request.args.get("overdue", ""))
    chosen = queries.CaseFilter(state=_arg("state", STATES), kind=_arg("kind", KINDS),
                                category=_arg("category", CATEGORIES), county=_arg("county", counties),
                                overdue=overdue, assignee=_arg_id("assignee"))
    with uow() as tx:
        rows, total = queries.list_cases(tx, principal=principal, chosen=chosen, limit=queries.PAGE_SIZE,
                                         offset=(page - 1) * queries.PAGE_SIZE)
    args = {k: v for k, v in request.args.items() if v}
    return render_template("oversight/complaint_list.html", rows=rows, total=total, page=page,
                           size=queries.PAGE_SIZE, args=args, states=STATES, kinds=KINDS, categories=CATEGORIES,
                           counties=counties, me=principal.account_id)


def _case_page(case_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    with uow() as tx:
        case = queries.case_detail(tx, principal=principal, case_id=case_id)
    return render_template("oversight/complaint_case.html", case=case, error=error, labels=LABELS,
                           form=request.form, live=case["state"] in (CaseState.OPEN, CaseState.IN_PROGRESS),
                           can_dispatch=principal.has_any(cases.DISPATCHERS), me=principal.account_id,
                           actor_label=actor_label), status


@bp.route("/oversight/cases/<int:case_id>")
@access(*HANDLERS)
def case_page(case_id: int) -> ResponseReturnValue:
    """Show one case: the resident's text, the application, the history and the forms for the next step."""
    return _case_page(case_id)


def _act(case_id: int, done: str, step: Any) -> ResponseReturnValue:
    try:
        with uow() as tx:
            step(tx)
            tx.commit()
    except DomainError as exc:
        return _case_page(case_id, for_staff(exc, labels=LABELS), exc.status)
    flash(done, "ok")
    return redirect(url_for("complaint_pages.case_page", case_id=case_id))


@bp.route("/oversight/cases/<int:case_id>/assign", methods=["POST"])
@access(*HANDLERS)
def assign(case_id: int) -> ResponseReturnValue:
    """Take the case or give it to a reviewer of its county."""
    raw = request.form.get("assignee", "")
    assignee = int(raw) if raw.isdigit() and int(raw) <= MAX_ID else None
    return _act(case_id, "已分派", lambda tx: cases.assign(tx, principal=current_principal(), case_id=case_id,
                                                           assignee_id=assignee))


@bp.route("/oversight/cases/<int:case_id>/answer", methods=["POST"])
@access(*HANDLERS)
def answer(case_id: int) -> ResponseReturnValue:
    """Answer the resident (texted to them and shown on their status page)."""
    return _act(case_id, "已答复,已短信通知", lambda tx: cases.answer(
        tx, principal=current_principal(), case_id=case_id, reply=request.form.get("reply")))


@bp.route("/oversight/cases/<int:case_id>/close", methods=["POST"])
@access(*HANDLERS)
def close(case_id: int) -> ResponseReturnValue:
    """Close an answered case."""
    return _act(case_id, "已办结", lambda tx: cases.close(tx, principal=current_principal(), case_id=case_id))


def _phone_page(error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    counties = {c: n for c, n in COUNTIES.items() if principal.covers_county(c)}
    return render_template("oversight/complaint_phone.html", error=error, labels=LABELS, form=request.form,
                           categories=CATEGORIES, counties=counties), status


@bp.route("/oversight/cases/phone")
@access(*HANDLERS)
def phone_form() -> ResponseReturnValue:
    """The form a clerk records a phone complaint on."""
    return _phone_page()


@bp.route("/oversight/cases/phone", methods=["POST"])
@access(*HANDLERS)
def phone_file() -> ResponseReturnValue:
    """Record a phone complaint; the resident named in it is texted its number."""
    try:
        with uow() as tx:
            filed = cases.file_by_phone(tx, principal=current_principal(), category=request.form.get("category", ""),
                                        text=request.form.get("text"),
                                        application_number=request.form.get("application_number"),
                                        county_code=request.form.get("county"), terms=terms())
            tx.commit()
    except DomainError as exc:
        return _phone_page(for_staff(exc, labels=LABELS), exc.status)
    flash(f"已登记 {filed.number}", "ok")
    return redirect(url_for("complaint_pages.case_page", case_id=filed.case_id))


# --- the resident's side, on the phone -----------------------------------------------------------------------
def _status_code(token: str) -> str:
    return str(read_token(runtime().settings.secret_key, STATUS_PURPOSE, token).get("c", ""))


def _resident_page(token: str, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    person_id = principal.person_id if principal.kind == "resident" else None
    code = _status_code(token)
    with runtime().unit_of_work() as tx:
        own = queries.resident_cases(tx, status_code=code, person_id=person_id)
        subject = case_subject(tx, status_code=code)
    assert subject is not None  # resident_cases refused an unknown code
    appeal_why = cases.appeal_refusal(subject, terms=terms())
    open_appeal = any(c["kind"] == "appeal" and c["state"] not in ("closed", "withdrawn") for c in own)
    return render_template("oversight/complaint_resident.html", token=token, cases=own, error=error,
                           owner=person_id is not None and subject.person_id == person_id, form=request.form,
                           categories=CATEGORIES, number=subject.number, labels=LABELS,
                           may_appeal=appeal_why is None and not open_appeal, appeal_why=appeal_why), status


@bp.app_template_global("resident_case_summary")
def resident_case_summary(token: str) -> list[dict[str, Any]]:
    """The verified resident's own cases about the application of a status page (its template shows them)."""
    principal = current_principal()
    if principal.kind != "resident":
        return []
    with runtime().unit_of_work() as tx:
        return queries.resident_cases(tx, status_code=_status_code(token), person_id=principal.person_id)


@bp.route("/m/s/<token>/cases/<int:case_id>/withdraw", methods=["POST"])
@access(resident=True, csrf=True)
def resident_withdraw(token: str, case_id: int) -> ResponseReturnValue:
    """The resident withdraws her own complaint (not an appeal under its second review)."""
    person_id = current_principal().person_id
    assert person_id is not None
    try:
        with runtime().unit_of_work() as tx:
            cases.withdraw(tx, case_id=case_id, person_id=person_id)
            tx.commit()
        flash("已撤回", "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("complaint_pages.resident_cases", token=token))


@bp.route("/m/s/<token>/cases")
@access(public=True)
@limiter.limit("60 per minute")
def resident_cases(token: str) -> ResponseReturnValue:
    """The resident's complaints and appeals about this application, their replies, and the form to file one."""
    return _resident_page(token)


@bp.route("/m/s/<token>/cases", methods=["POST"])
@access(resident=True, csrf=True)
@limiter.limit("10 per minute")
def resident_file(token: str) -> ResponseReturnValue:
    """File a complaint, or an appeal against a refusal (which reopens it for a second review)."""
    person_id = current_principal().person_id
    assert person_id is not None
    try:
        with runtime().unit_of_work() as tx:
            filed = cases.file_from_status(tx, status_code=_status_code(token), person_id=person_id,
                                           kind=request.form.get("kind", ""),
                                           category=request.form.get("category", ""),
                                           text=request.form.get("text"), contact_ok=bool(request.form.get("contact")),
                                           terms=terms())
            tx.commit()
    except DomainError as exc:
        return _resident_page(token, for_staff(exc, labels=LABELS), exc.status)
    flash(f"已受理,编号 {filed.number}" + (f";{filed.reopen_refused}" if filed.reopen_refused else ""), "ok")
    return redirect(url_for("complaint_pages.resident_cases", token=token))
