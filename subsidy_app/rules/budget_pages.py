"""Budget officers' pages: the pools in their counties, one pool's ledger, queue and proposals (maker-checker)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from subsidy_app.access import access, current_principal
from subsidy_app.core.errors import DomainError, FieldErrors, ValidationFailed
from subsidy_app.core.limits import LARGEST_MONEY, MAX_ID
from subsidy_app.core.text import checked_text
from subsidy_app.form_errors import PageError, for_staff
from subsidy_app.http import uow
from subsidy_app.identity.domain import COUNTIES, Role
from subsidy_app.rules import budget_proposals as proposals
from subsidy_app.rules import budget_reports
from subsidy_app.rules.domain import PROGRAMME_LABELS_ZH

bp = Blueprint("budget_pages", __name__, template_folder="templates")
READERS = (Role.AUDITOR, Role.SENIOR_AUDITOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.BUREAU_LEADER)  # as the API
OFFICERS = (Role.ADMIN, Role.FINANCE_OFFICER)
PAGE_SIZE = 50
LABELS = {"kind": "申请类型", "amount": "金额(元)", "source": "资金来源", "from_pool_id": "调出资金池",
          "reason": "原因", "note": "驳回原因"}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), MAX_ID) if raw.isdigit() and int(raw) > 0 else 1


@bp.route("/budget/pools")
@access(*READERS)
def pools() -> ResponseReturnValue:
    """List the pools in the caller's counties with their figures, filtered by programme and county."""
    principal = current_principal()
    programme = request.args.get("programme") or None
    county = request.args.get("county") or None
    counties = None if principal.all_counties else principal.counties
    if county in COUNTIES and (counties is None or county in counties):
        counties = frozenset({county})
    page = _page_number()
    with uow() as tx:
        ids = budget_reports.list_pool_ids(tx, counties=counties,
                                           programme=programme if programme in PROGRAMME_LABELS_ZH else None)
        shown = [budget_reports.pool_figures(tx, pool_id=i) for i in ids[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]]
    mine = COUNTIES if principal.all_counties else {c: n for c, n in COUNTIES.items() if c in principal.counties}
    return render_template("rules/pools.html", pools=shown, total=len(ids), page=page, size=PAGE_SIZE,
                           programmes=PROGRAMME_LABELS_ZH, counties=COUNTIES, my_counties=mine,
                           programme=programme or "", county=county or "")


def _pool_page(pool_id: int, error: PageError | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_principal()
    page = _page_number()
    with uow() as tx:
        if not principal.covers_county(budget_reports.pool_county(tx, pool_id=pool_id)):
            abort(404)
        figures = budget_reports.pool_figures(tx, pool_id=pool_id)
        ledger = proposals.ledger(tx, pool_id=pool_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        queue = proposals.waiting(tx, pool_id=pool_id, limit=PAGE_SIZE)
        props = proposals.proposals(tx, pool_id=pool_id, limit=PAGE_SIZE, offset=0)
        names = proposals.pool_names(tx, principal=principal)
    return render_template(
        "rules/pool.html", pool=figures, ledger=ledger, queue=queue, proposals=props, pool_names=names,
        page=page, size=PAGE_SIZE, counties=COUNTIES, programmes=PROGRAMME_LABELS_ZH, error=error, labels=LABELS,
        form=request.form, officer=principal.has_any(frozenset(OFFICERS)), me=principal.account_id,
        kinds=proposals.KIND_LABELS_ZH, states=proposals.STATE_LABELS_ZH, sources=proposals.SOURCE_LABELS_ZH,
        entry_labels=proposals.ENTRY_LABELS_ZH, reservation_labels=proposals.RESERVATION_LABELS_ZH), status


@bp.route("/budget/pools/<int:pool_id>")
@access(*READERS)
def pool(pool_id: int) -> ResponseReturnValue:
    """Show a pool's figures, its ledger (paginated), the approvals waiting for money and the proposals."""
    return _pool_page(pool_id)


def _text(name: str, max_length: int = 300) -> str:
    return checked_text(request.form.get(name), field=name, max_length=max_length, multiline=True)


def _amount() -> Decimal | None:
    raw = _text("amount", 30).replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailed.field("amount", "应为金额,如 50000.00 / must be an amount") from None
    if not value.is_finite() or abs(value) > LARGEST_MONEY:
        raise ValidationFailed.field("amount", "金额超出允许范围 / amount out of range")
    return value


def _pool_choice() -> int | None:
    raw = _text("from_pool_id", 20)
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed.field("from_pool_id", "请从列表中选择 / choose one of the listed pools")
    return int(raw)


@bp.route("/budget/pools/<int:pool_id>/proposals", methods=["POST"])
@access(*OFFICERS)
def propose(pool_id: int) -> ResponseReturnValue:
    """Propose a top-up or a reallocation into this pool; another officer must approve it before money moves."""
    try:
        read = FieldErrors()
        values: dict[str, Any] = {
            "kind": read.value(lambda: _text("kind", 20), ""), "amount": read.value(_amount, None),
            "reason": read.value(lambda: _text("reason"), ""), "source": read.value(lambda: _text("source", 20), ""),
            "from_pool_id": read.value(_pool_choice, None)}
        read.raise_any()
        with uow() as tx:
            made = proposals.propose(tx, principal=current_principal(), pool_id=pool_id, **values)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _pool_page(pool_id, for_staff(exc, labels=LABELS), exc.status)
    flash(f"已提交{proposals.KIND_LABELS_ZH[made.kind]}申请 #{made.id}({made.amount:.2f} 元),"
          "须由另一名资金管理人员审批后入账。", "ok")
    return redirect(url_for("budget_pages.pool", pool_id=pool_id))


@bp.route("/budget/pools/<int:pool_id>/proposals/<int:proposal_id>/approve", methods=["POST"])
@access(*OFFICERS)
def approve(pool_id: int, proposal_id: int) -> ResponseReturnValue:
    """Approve another officer's proposal: the ledger moves now, once."""
    try:
        with uow() as tx:
            funded = proposals.approve(tx, principal=current_principal(), proposal_id=proposal_id,
                                       pool_id=pool_id)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _pool_page(pool_id, for_staff(exc, labels=LABELS), exc.status)
    extra = f",排队的 {len(funded)} 件申请已获得资金" if funded else ""
    flash(f"已批准资金申请 #{proposal_id},已记入资金池台账{extra}。", "ok")
    return redirect(url_for("budget_pages.pool", pool_id=pool_id))


@bp.route("/budget/pools/<int:pool_id>/proposals/<int:proposal_id>/reject", methods=["POST"])
@access(*OFFICERS)
def reject(pool_id: int, proposal_id: int) -> ResponseReturnValue:
    """Turn a proposal down with a reason; no money moves."""
    try:
        with uow() as tx:
            proposals.reject(tx, principal=current_principal(), proposal_id=proposal_id, note=_text("note"),
                             pool_id=pool_id)
            tx.commit()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _pool_page(pool_id, for_staff(exc, labels=LABELS), exc.status)
    flash(f"已驳回资金申请 #{proposal_id}。", "ok")
    return redirect(url_for("budget_pages.pool", pool_id=pool_id))
