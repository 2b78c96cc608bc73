"""Settlement (清算): a statement per dealer, programme and period, paid through the payment-batch mechanism."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from subsidy_app.appliances import fraud
from subsidy_app.appliances.domain import SaleMode, SaleState
from subsidy_app.appliances.models import ApplianceSale, DealerAccount
from subsidy_app.applications import checks as application_checks
from subsidy_app.applications import queries, staff_queries
from subsidy_app.applications.domain import STATE_LABELS_ZH, Action, CheckResult, State
from subsidy_app.applications.services import (
    FirstRun,
    Kind,
    Opening,
    Payee,
    WithFacts,
    load_for_update,
    open_application,
    register_kind,
    transition,
)
from subsidy_app.core.clock import day_start
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.numbers import money_str
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity import organisations
from subsidy_app.identity.domain import OrgKind, Principal
from subsidy_app.identity.organisations import OrganisationView
from subsidy_app.rules import budget

CATEGORY = "dealer_settlement"
# Statements (issue 5 §6) pay a dealer for instant discounts; each sale reserved its budget and quota at the till.
DEALER_PAYEE = "dealer"
STATEMENT = "dealer_statement"
_DEAD = (State.REJECTED, State.WITHDRAWN, State.REVOKED)
# A dealer may take back a statement the bureau returned for correction, or one nobody has reviewed yet; its sales
# and deductions then go on the dealer's next statement (create_statement takes those of dead statements).
WITHDRAWABLE = (State.RETURNED, State.PENDING_REVIEW)
# Sales whose subsidy a statement takes back: returned by the buyer, or revoked after a spot check (抽查).
_CLAWED_BACK = (SaleState.RETURNED.value, SaleState.REVOKED.value)
_WHY_ZH = {SaleState.RETURNED.value: "退货", SaleState.REVOKED.value: "抽查撤销"}


@dataclass(frozen=True)
class Statement:
    """A created statement: its application, lines and totals."""

    application_id: int
    number: str
    sales: int
    gross: Decimal
    clawback: Decimal
    total: Decimal
    flagged: int


def create_statement(uow: UnitOfWork, *, principal: Principal, dealer_org_id: int, programme: str,
                     period_start: dt.date, period_end: dt.date) -> Statement:
    """Gather a dealer's instant discounts of a period, less returns already settled, into one statement."""
    dealer = organisations.get_organisation(uow, dealer_org_id)
    if dealer is None or not principal.covers_organisation(dealer.id, dealer.county_code):
        raise NotFound("经销商不存在 / dealer not found", reason="dealer.not_found")
    if period_end < period_start:
        raise ValidationFailed.field("period_end", "结束日期早于开始日期 / the period ends before it starts")
    account = uow.session.scalar(select(DealerAccount).where(DealerAccount.dealer_org_id == dealer.id))
    if account is None:
        raise Conflict("经销商尚未登记结算账户 / the dealer has no settlement account", reason="settlement.no_account")
    start, end = day_start(period_start), day_start(period_end + dt.timedelta(days=1))  # Beijing days
    dead = queries.ids_in_states(_DEAD).scalar_subquery()
    base = (ApplianceSale.dealer_org_id == dealer.id, ApplianceSale.programme == programme,
            ApplianceSale.mode == SaleMode.INSTANT.value)
    # Granted sales of the period, and sales whose earlier statement was rejected or revoked.
    sales = list(uow.session.scalars(select(ApplianceSale).where(*base, or_(
        and_(ApplianceSale.state == SaleState.GRANTED.value, ApplianceSale.sold_at >= start,
             ApplianceSale.sold_at < end),
        and_(ApplianceSale.state == SaleState.SETTLING.value, ApplianceSale.statement_id.in_(dead))))
        .order_by(ApplianceSale.id).with_for_update()))
    # Returns of sales already on a statement: clawed back from this one (DOMAIN.md §2), or again when the
    # statement that was to claw them back was rejected or revoked. A sale a spot check found false (revoked)
    # is clawed back the same way, once.
    returns = list(uow.session.scalars(select(ApplianceSale).where(
        *base, ApplianceSale.state.in_(_CLAWED_BACK), ApplianceSale.statement_id.is_not(None),
        ApplianceSale.statement_id.not_in(dead), or_(ApplianceSale.clawback_statement_id.is_(None),
                                                     ApplianceSale.clawback_statement_id.in_(dead)))
        .order_by(ApplianceSale.id).with_for_update()))
    _release_unpaid_returns(uow, principal, base, dead)
    if not sales:
        raise Conflict("该期间没有待清算的立减销售 / no instant discounts to settle in this period",
                       reason="settlement.empty")
    gross = sum((s.amount for s in sales), Decimal("0.00"))
    clawback = sum((s.amount for s in returns), Decimal("0.00"))
    if gross - clawback <= 0:
        raise Conflict("扣回金额不少于本期应结金额 / clawbacks exceed this period's amount",
                       reason="settlement.nothing_to_pay")
    flagged = [s for s in sales if s.signals]

    def checks(application_id: int) -> FirstRun:
        for sale in sales:
            sale.state, sale.statement_id = SaleState.SETTLING.value, application_id
        for sale in returns:
            sale.clawback_statement_id = application_id
        return FirstRun(_signal_checks(flagged))

    opened = open_application(uow, kind=STATEMENT, actor=principal.actor, checks=checks, opening=Opening(
        programme=programme, category=CATEGORY, county_code=dealer.county_code, amount=gross - clawback,
        dealer_org_id=dealer.id, needs_second_review=bool(flagged),
        facts=_facts(uow, dealer, account, period_start, period_end, sales, returns, gross, clawback),
        audit={"dealer": dealer.id, "sales": len(sales), "gross": str(gross), "clawback": str(clawback)}))
    return Statement(opened.application_id, opened.number, len(sales), gross, clawback, gross - clawback,
                     len(flagged))


def _release_unpaid_returns(uow: UnitOfWork, principal: Principal, base: tuple[Any, ...], dead: Any) -> None:
    """Give back the budget of returns whose statement died unpaid: nobody was paid, nothing is clawed back."""
    for sale in uow.session.scalars(select(ApplianceSale).where(
            *base, ApplianceSale.state.in_(_CLAWED_BACK), ApplianceSale.statement_id.in_(dead),
            ApplianceSale.clawback_statement_id.is_(None)).with_for_update()):
        budget.release(uow, actor=principal.actor, reference=sale.number,
                       reason=f"{_WHY_ZH[sale.state]}且结算单未支付 / {sale.state}, its statement was not paid")
        sale.statement_id = None  # settled for good: neither a line nor a clawback of any statement


def _facts(uow: UnitOfWork, dealer: OrganisationView, account: DealerAccount, start: dt.date, end: dt.date,
           sales: list[ApplianceSale], returns: list[ApplianceSale], gross: Decimal, clawback: Decimal
           ) -> dict[str, Any]:
    return {
        "period": [start.isoformat(), end.isoformat()], "sale_refs": [s.number for s in sales],
        "clawback_refs": [s.number for s in returns], "gross": str(gross), "clawback": str(clawback),
        # Which deductions are spot-check revocations rather than returns (a subset of clawback_refs).
        "revoked_refs": [s.number for s in returns if s.state == SaleState.REVOKED.value],
        "payee_name": account.account_name or dealer.name, "payee_bank": account.bank_name,
        "payee_account_masked": account.account_masked,
        "payee_account_enc": base64.b64encode(account.account_enc).decode(),
    }


def _payee_detail(uow: UnitOfWork, app: WithFacts, principal: Principal) -> dict[str, str]:
    """The dealer as reviewers see the payee: the account masked, no ID number."""
    return {"applicant_name": app.facts.get("payee_name", ""), "applicant_id_number": "",
            "bank_card": app.facts.get("payee_account_masked", "")}


def _payee_bank_line(uow: UnitOfWork, app: WithFacts, principal: Principal) -> list[str]:
    """The dealer's settlement account for the bank file, kept encrypted in the statement's facts."""
    account = uow.cipher.decrypt(base64.b64decode(app.facts["payee_account_enc"]))
    return [app.facts["payee_name"], account, app.facts["payee_bank"]]


def _sale_refs(app: WithFacts) -> list[str]:
    """A statement's payment spends each of its sales' reservations."""
    return [str(ref) for ref in app.facts.get("sale_refs", [])]


def _clawback_refs(app: WithFacts) -> list[str]:
    """Returns after an earlier statement was paid: deducted from this one, their money goes back to the pool."""
    return [str(ref) for ref in app.facts.get("clawback_refs", [])]


def _statement_subject(uow: UnitOfWork, app: WithFacts) -> list[tuple[str, str]]:
    """The reviewer's rows of a statement: the period, its sales and their total, returns deducted, the account."""
    start, end = (app.facts.get("period") or ["", ""])[:2]
    sales, deducted = app.facts.get("sale_refs", []), app.facts.get("clawback_refs", [])
    revoked = [ref for ref in deducted if ref in set(app.facts.get("revoked_refs", []))]
    returns = [ref for ref in deducted if ref not in set(revoked)]
    return [
        ("结算期间", f"{start} 至 {end}"),
        ("立减销售", f"{len(sales)} 笔,合计 {money_str(Decimal(app.facts.get('gross', '0')))} 元"),
        ("退货及抽查撤销扣回", f"{len(deducted)} 笔,合计 {money_str(Decimal(app.facts.get('clawback', '0')))} 元"
                              + (f"(退货:{'、'.join(returns)})" if returns else "")
                              + (f"(抽查撤销:{'、'.join(revoked)})" if revoked else "")),
        ("销售编号", "、".join(sales)),
        ("结算账户", f"{app.facts.get('payee_name', '')} · {app.facts.get('payee_bank', '')} · "
                     f"{app.facts.get('payee_account_masked', '')}"),
    ]


register_kind(Kind(STATEMENT, prefix="ST", consent_version="dealer", subject=_statement_subject, payee=Payee(
    DEALER_PAYEE, detail=_payee_detail, bank_line=_payee_bank_line, holds_own=False,
    budget_references=_sale_refs, clawback_references=_clawback_refs), categories=((CATEGORY, "经销商结算单"),)))


def _signal_checks(flagged: list[ApplianceSale]) -> list[CheckResult]:
    """Show each flagged sale's fraud signals to the reviewers as failed checks with their evidence."""
    return [_signal_check(f"{signal['code']}:{index}", sale.number, signal)
            for index, sale in enumerate(flagged) for signal in fraud.for_viewer(sale.signals, bureau=False)]


def _signal_check(code: str, sale_number: str, signal: dict[str, Any]) -> CheckResult:
    # Checks are readable by the dealer too: evidence naming another dealer stays in the bureau's view.
    evidence = ", ".join(f"{k}={v}" for k, v in signal.get("evidence", {}).items())
    return CheckResult(code, False, f"销售 {sale_number}:{signal['detail_zh']}",
                       f"sale {sale_number}: {signal['code']} ({evidence})")


def note_late_signal(session: Session, *, sale_id: int, code: str) -> bool:
    """Put a signal raised after a sale went on a statement before that statement's reviewers, if still undecided.

    The statement then needs a second reviewer, as if the sale had been flagged when it was created; a decided
    statement is left alone (the signal stays on the sale). Return whether a statement was told.
    """
    sale = session.get(ApplianceSale, sale_id)
    if sale is None or sale.statement_id is None:
        return False
    # One check per sale and code: a third dealer's report refreshes the evidence.
    return application_checks.note_late_checks(session, application_id=sale.statement_id, checks=[
        _signal_check(f"{code}:late:{sale.id}", sale.number, signal)
        for signal in fraud.for_viewer([s for s in sale.signals if s.get("code") == code], bureau=False)])


def statement_lines(uow: UnitOfWork, *, principal: Principal, application_id: int) -> dict[str, Any]:
    """Return a statement's sales, clawbacks and signals for reviewers and the dealer."""
    app = queries.visible_application(uow, principal=principal, application_id=application_id)
    if app is None or app.payee_kind != DEALER_PAYEE:
        raise NotFound("结算单不存在 / statement not found", reason="settlement.not_found")
    sales = uow.session.scalars(select(ApplianceSale).where(or_(
        ApplianceSale.statement_id == app.id, ApplianceSale.clawback_statement_id == app.id))
        .order_by(ApplianceSale.id))
    bureau = principal.organisation_kind is not OrgKind.DEALER
    return {"id": app.id, "number": app.number, "state": app.state, "amount": app.amount,
            "period": app.facts.get("period"), "gross": app.facts.get("gross"), "clawback": app.facts.get("clawback"),
            "lines": [{"number": s.number, "category": s.category, "gtin": s.gtin, "price": s.price,
                       "amount": s.amount, "state": s.state, "signals": fraud.for_viewer(s.signals, bureau=bureau),
                       "kind": "clawback" if s.clawback_statement_id == app.id else "sale",
                       "clawback_reason": _clawback_reason(s, app.id)} for s in sales]}


def _clawback_reason(sale: ApplianceSale, statement_id: int) -> str | None:
    """Why a line deducts: "spot_check" (revoked after a spot check) or "return"; None for a sale line."""
    if sale.clawback_statement_id != statement_id:
        return None
    return "spot_check" if sale.state == SaleState.REVOKED.value else "return"


@dataclass(frozen=True)
class StatementRow:
    """A statement as the bureau's list shows it."""

    application_id: int
    number: str
    dealer_name: str
    county_code: str
    period: tuple[str, str]
    sales: int
    gross: Decimal
    clawback: Decimal
    amount: Decimal
    state: str
    state_label: str
    flagged: bool
    submitted_at: dt.datetime


def list_statements(uow: UnitOfWork, *, principal: Principal, state: State | None = None,
                    dealer_org_id: int | None = None, limit: int = 50, offset: int = 0
                    ) -> tuple[list[StatementRow], int]:
    """One page of dealer statements in the caller's counties, newest first, with the number in all."""
    rows, total = queries.category_page(uow, principal=principal, category=CATEGORY, state=state,
                                        dealer_org_id=dealer_org_id, limit=limit, offset=offset)
    names = organisations.organisation_names(uow, {r["dealer_org_id"] for r in rows if r["dealer_org_id"]})
    return [StatementRow(r["id"], r["number"], names.get(r["dealer_org_id"], ""), r["county_code"],
                         tuple(r["facts"].get("period", ["", ""])), len(r["facts"].get("sale_refs", [])),
                         Decimal(r["facts"].get("gross", "0")), Decimal(r["facts"].get("clawback", "0")),
                         r["amount"], r["state"], r["state_label"], r["needs_second_review"], r["submitted_at"])
            for r in rows], total


def own_statements(uow: UnitOfWork, *, principal: Principal, limit: int, offset: int
                   ) -> tuple[list[dict[str, Any]], int]:
    """One page of the caller's own dealer's statements, newest first, and how many there are."""
    return staff_queries.dealer_applications(uow, principal=principal, category=CATEGORY, limit=limit,
                                             offset=offset)


def withdraw_statement(uow: UnitOfWork, *, principal: Principal, application_id: int) -> str:
    """Withdraw the dealer's own returned or unreviewed statement through the transition; return its new state."""
    app = load_for_update(uow, application_id)
    if (app.payee_kind != DEALER_PAYEE or principal.organisation_kind is not OrgKind.DEALER
            or app.dealer_org_id != principal.organisation_id):
        raise NotFound("结算单不存在 / statement not found", reason="settlement.not_found")
    if State(app.state) not in WITHDRAWABLE:
        raise Conflict("只有退回补正或待审核的结算单可以撤回 / only a statement returned for correction or not yet "
                       "reviewed can be withdrawn", reason="settlement.not_withdrawable")
    transition(uow, app=app, action=Action.WITHDRAW, actor=principal.actor,
               reason="经销商撤回,销售将计入下一张结算单 / withdrawn by the dealer: its sales go on the next statement")
    return app.state


def statement_page(uow: UnitOfWork, *, principal: Principal, application_id: int) -> dict[str, Any]:
    """A statement as its page shows it: the lines, its state in words and the checks that failed (the signals)."""
    shown = statement_lines(uow, principal=principal, application_id=application_id)
    failed = [c for c in application_checks.latest_checks(uow, application_id=application_id) if not c.passed]
    app = queries.visible_application(uow, principal=principal, application_id=application_id)
    return {**shown, "state_label": STATE_LABELS_ZH[State(shown["state"])],
            "withdrawable": State(shown["state"]) in WITHDRAWABLE,
            "last_reason": app.last_reason if app is not None and State(app.state) is State.RETURNED else None,
            "failed_checks": [{"detail": c.explanation_zh, "overridden": bool(c.overridden_by)} for c in failed]}

