"""Red-letter reversals (reasons 01–04) and the one-command correction of a month that crossed the threshold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from reverse_invoice.domain import (
    InvoiceType,
    LocationClass,
    RedReason,
    TaxFigures,
    compute_taxes,
    month_is_taxable,
    month_of,
    reversal_amount,
    reversal_figures,
)
from reverse_invoice.invoices import (
    NewInvoice,
    add_month_sales,
    corrections_needed,
    figures_of,
    get_invoice,
    insert_invoice,
    month_sales,
    rates_for_month,
)
from reverse_invoice.models import Invoice
from reverse_invoice.recyclers import require_may_issue
from reverse_invoice.sellers import get_seller, may_see_seller
from reverse_invoice.tax_rules import load_tax_rules
from subsidy_app.audit import services as audit
from subsidy_app.core.clock import business_date
from subsidy_app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.domain import Principal, Role


@dataclass(frozen=True)
class ReversalResult:
    """A red-letter invoice, and any invoices of the month whose treatment now needs correcting."""

    red_invoice_id: int
    number: str
    amount: Decimal
    corrections_needed: tuple[int, ...]


@dataclass(frozen=True)
class CorrectedInvoice:
    """One corrected invoice: the original, its red-letter reversal and its re-issue."""

    original_id: int
    red_invoice_id: int
    reissued_id: int


def _reversed_so_far(uow: UnitOfWork, invoice: Invoice) -> TaxFigures:
    sums = uow.session.execute(select(
        func.coalesce(func.sum(Invoice.amount), 0), func.coalesce(func.sum(Invoice.vat), 0),
        func.coalesce(func.sum(Invoice.urban_tax), 0), func.coalesce(func.sum(Invoice.education), 0),
        func.coalesce(func.sum(Invoice.local_education), 0), func.coalesce(func.sum(Invoice.income_tax), 0),
    ).where(Invoice.original_id == invoice.id, Invoice.colour == "red")).one()
    amount, vat, urban, education, local, income = (-Decimal(v) for v in sums)
    return TaxFigures(amount, invoice.vat_rate, invoice.vat_exempt, vat, invoice.urban_rate, urban, education,
                      local, income)


def _reverse(uow: UnitOfWork, invoice: Invoice, *, reason: RedReason, amount: Decimal, day: dt.date,
             actor: str) -> NewInvoice:
    """Issue the red-letter invoice for `amount` of a locked blue invoice and give the sales back to the cap."""
    figures = reversal_figures(figures_of(invoice), _reversed_so_far(uow, invoice), amount)
    red = insert_invoice(
        uow, recycler_id=invoice.recycler_id, seller_id=invoice.seller_id, purchase_id=invoice.purchase_id,
        colour="red", invoice_type=invoice.invoice_type, figures=figures, issued_on=day, tax_month=invoice.tax_month,
        location=invoice.location_class, actor=actor, original_id=invoice.id, red_reason=reason.value)
    invoice.reversed_amount = invoice.reversed_amount + amount
    invoice.state = "reversed" if invoice.reversed_amount == invoice.amount else "partly_reversed"
    add_month_sales(uow, seller_id=invoice.seller_id, month=invoice.tax_month, delta=-amount)
    audit.record(uow, actor=actor, action="reverse_invoice.reversed", entity_type="ri_invoice", entity_id=invoice.id,
                 after={"red_number": red.number, "reason": reason.value, "amount": str(amount),
                        "state": invoice.state})
    return red


def reverse(
    uow: UnitOfWork, *, principal: Principal, invoice_id: int, reason: RedReason, amount: Decimal | None = None,
    today: dt.date | None = None,
) -> ReversalResult:
    """Reverse an invoice in full (reasons 01–03) or in part (04, sales allowance), never beyond its amount."""
    day = today or business_date()
    found = get_invoice(uow, invoice_id, principal=principal, write=True)
    if found.colour != "blue":
        raise Conflict("红字发票不能再冲红 / a red-letter invoice cannot be reversed", reason="invoice.not_reversible")
    # Lock order everywhere: seller, then invoice, then the number counter. The invoice lock keeps two
    # reversals from both passing the remaining-amount check.
    get_seller(uow, found.seller_id, lock=True)
    invoice = get_invoice(uow, invoice_id, lock=True)
    rule = load_tax_rules().red_reasons[reason]
    remaining = invoice.amount - invoice.reversed_amount
    chosen = reversal_amount(rule, requested=amount, remaining=remaining)
    if chosen is None:
        if remaining <= 0:
            raise Conflict("该发票已全额冲红 / the invoice is already fully reversed",
                           reason="invoice.already_reversed")
        if rule.partial:
            raise ValidationFailed.field("amount", f"销售折让金额须大于 0 且不超过可冲红金额 {remaining} / the "
                                         f"allowance must be > 0 and ≤ {remaining}", reason="invoice.reversal_exceeds")
        raise ValidationFailed.field("amount", f"原因 {reason.value} 须全额冲红 {remaining} / reason {reason.value} "
                                     f"reverses the whole remaining {remaining}", reason="invoice.reversal_full_only")
    red = _reverse(uow, invoice, reason=reason, amount=chosen, day=day, actor=principal.actor)
    pending = corrections_needed(uow, seller_id=invoice.seller_id, month=invoice.tax_month)
    return ReversalResult(red.id, red.number, chosen, pending)


def correct_month(
    uow: UnitOfWork, *, principal: Principal, seller_id: int, month: dt.date, today: dt.date | None = None,
) -> tuple[CorrectedInvoice, ...]:
    """Correct a month whose total crossed the threshold: red-letter each mis-treated invoice and re-issue it."""
    day = today or business_date()
    month = month_of(month)
    if not principal.has_any(frozenset({Role.RECYCLER_CLERK, Role.ADMIN})):
        raise Forbidden("仅回收企业或管理员可更正 / only the recycler or an admin may correct",
                        reason="auth.forbidden")
    get_seller(uow, seller_id, lock=True)
    if not may_see_seller(uow, principal, seller_id):
        raise NotFound("售卖人不存在 / seller not found", reason="seller.not_found")
    taxable = month_is_taxable(month_sales(uow, seller_id=seller_id, start=month, end=month),
                               rates_for_month(month).monthly_threshold)
    invoices = [get_invoice(uow, i, lock=True) for i in corrections_needed(uow, seller_id=seller_id, month=month)]
    if Role.RECYCLER_CLERK in principal.roles:  # a recycler corrects its own invoices; an admin corrects them all
        invoices = [inv for inv in invoices if inv.recycler_id == principal.organisation_id]
    # Counters are taken in recycler order so two corrections can never wait on each other.
    invoices.sort(key=lambda inv: (inv.recycler_id, inv.id))
    done: list[CorrectedInvoice] = []
    for invoice in invoices:
        require_may_issue(uow, recycler_id=invoice.recycler_id, invoice_type=InvoiceType(invoice.invoice_type),
                          today=day)
        remaining = invoice.amount - invoice.reversed_amount
        red = _reverse(uow, invoice, reason=RedReason.ISSUED_IN_ERROR, amount=remaining, day=day,
                       actor=principal.actor)
        # The tax belongs to the original's date: re-issue at the rates in force then, with the month's treatment.
        figures = compute_taxes(remaining, taxable=taxable, rates=load_tax_rules().rates(invoice.issued_on),
                                location=LocationClass(invoice.location_class))
        new = insert_invoice(
            uow, recycler_id=invoice.recycler_id, seller_id=seller_id, purchase_id=invoice.purchase_id,
            colour="blue", invoice_type=invoice.invoice_type, figures=figures, issued_on=day, tax_month=month,
            location=invoice.location_class, actor=principal.actor, replaces_id=invoice.id)
        add_month_sales(uow, seller_id=seller_id, month=month, delta=remaining)
        done.append(CorrectedInvoice(invoice.id, red.id, new.id))
    if done:
        audit.record(uow, actor=principal.actor, action="reverse_invoice.month_corrected", entity_type="ri_seller",
                     entity_id=seller_id, after={"month": month.isoformat(), "taxable": taxable,
                                                 "corrected": [[c.original_id, c.red_invoice_id, c.reissued_id]
                                                               for c in done]})
    return tuple(done)


def corrections_for(uow: UnitOfWork, *, principal: Principal, seller_id: int, month: dt.date) -> tuple[int, ...]:
    """List the month's invoices needing correction that the caller may correct or see."""
    ids = corrections_needed(uow, seller_id=seller_id, month=month)
    if Role.RECYCLER_CLERK not in principal.roles:
        return ids
    return tuple(i for i in ids if get_invoice(uow, i).recycler_id == principal.organisation_id)


def request_filings(uow: UnitOfWork, *, requested_by: str, month: dt.date | None) -> int:
    """Queue the preparation of every recycler's filing; return the job id to poll."""
    message = uow.enqueue("reverse_invoice.prepare_filings", month=month.isoformat() if month else None,
                          requested_by=requested_by)
    audit.record(uow, actor=requested_by, action="reverse_invoice.filings_requested", entity_type="ri_filing",
                 entity_id="all", after={"month": month.isoformat() if month else None})
    uow.flush()
    return message.id
