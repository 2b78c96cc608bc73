"""Red-letter reversals, the month-threshold correction, monthly filing, suspension and the seller's year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from reverse_invoice import documents, filing, invoices, recyclers, reversals, statements
from reverse_invoice.domain import RedReason
from reverse_invoice.models import Invoice, SellerMonth
from subsidy_app.audit.models import AuditEvent
from subsidy_app.core.errors import Conflict, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from tests.integration.ri_support import ADMIN, DAY, clerk, issue, qualify, seller

D = Decimal


@pytest.fixture
def two(uow: UnitOfWork, demo: dict[str, int]) -> tuple[int, int]:
    """Two qualified recyclers."""
    a, b = demo["org:recycler:dismantler"], demo["org:recycler:renewable"]
    qualify(uow, a)
    qualify(uow, b)
    return a, b


def _month_sales(uow: UnitOfWork, seller_id: int, month: dt.date) -> Decimal:
    return uow.session.scalar(select(SellerMonth.sales).where(SellerMonth.seller_id == seller_id,
                                                              SellerMonth.month == month))


def test_full_reversal_mirrors_the_invoice_and_gives_the_cap_back(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    seller_id = seller(uow, 20, a)
    blue = issue(uow, a, seller_id, "200000.00")
    red = reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.GOODS_RETURNED,
                            today=DAY)
    row = uow.session.get(Invoice, red.red_invoice_id)
    assert (row.amount, row.vat, row.urban_tax, row.income_tax) == (D("-200000.00"), D("-2000.00"), D("-70.00"),
                                                                     D("-1000.00"))
    assert row.number.endswith("00000002") and row.red_reason == "02" and row.original_id == blue.invoice_id
    assert uow.session.get(Invoice, blue.invoice_id).state == "reversed"
    assert _month_sales(uow, seller_id, DAY.replace(day=1)) == D("0.00")
    with pytest.raises(Conflict) as caught:
        reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.ISSUED_IN_ERROR,
                          today=DAY)
    assert caught.value.reason == "invoice.already_reversed"


def test_partial_reversal_only_for_sales_allowance_and_never_beyond_the_amount(
        uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    blue = issue(uow, a, seller(uow, 21, a), "1000.00")
    with pytest.raises(ValidationFailed) as full_only:
        reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.ISSUED_IN_ERROR,
                          amount=D("100.00"), today=DAY)
    assert full_only.value.reason == "invoice.reversal_full_only"
    reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.SALES_ALLOWANCE,
                      amount=D("400.00"), today=DAY)
    with pytest.raises(ValidationFailed) as exceeds:
        reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.SALES_ALLOWANCE,
                          amount=D("600.01"), today=DAY)
    assert exceeds.value.reason == "invoice.reversal_exceeds"
    rest = reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.GOODS_RETURNED,
                             today=DAY)
    assert rest.amount == D("600.00")
    red = uow.session.get(Invoice, rest.red_invoice_id)
    with pytest.raises(Conflict):
        reversals.reverse(uow, principal=clerk(a), invoice_id=red.id, reason=RedReason.GOODS_RETURNED, today=DAY)


def test_one_command_corrects_the_months_exempt_invoices_at_one_percent(
        uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 22, a, b)
    first = issue(uow, a, seller_id, "60000.00")
    second = issue(uow, b, seller_id, "40000.00")
    third = issue(uow, a, seller_id, "50000.00")
    assert third.corrections_needed == (first.invoice_id, second.invoice_id)
    corrected = reversals.correct_month(uow, principal=ADMIN, seller_id=seller_id, month=DAY,
                                        today=DAY + dt.timedelta(days=1))
    assert [c.original_id for c in corrected] == [first.invoice_id, second.invoice_id]
    reissued = [uow.session.get(Invoice, c.reissued_id) for c in corrected]
    assert [(r.amount, r.vat, r.vat_exempt, r.replaces_id) for r in reissued] == [
        (D("60000.00"), D("600.00"), False, first.invoice_id), (D("40000.00"), D("400.00"), False, second.invoice_id)]
    assert all(uow.session.get(Invoice, c.original_id).state == "reversed" for c in corrected)
    assert invoices.corrections_needed(uow, seller_id=seller_id, month=DAY) == ()
    assert _month_sales(uow, seller_id, DAY.replace(day=1)) == D("150000.00")
    uow.commit()
    actions = set(uow.session.scalars(select(AuditEvent.action)))
    assert "reverse_invoice.month_corrected" in actions


def test_a_recycler_clerk_corrects_only_its_own_invoices(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 23, a, b)
    issue(uow, a, seller_id, "60000.00")
    own = issue(uow, b, seller_id, "50000.00")
    corrected = reversals.correct_month(uow, principal=clerk(b), seller_id=seller_id, month=DAY, today=DAY)
    assert own.corrections_needed != () and len(corrected) == 0  # b's own invoice was already taxable
    left = invoices.corrections_needed(uow, seller_id=seller_id, month=DAY)
    assert len(left) == 1 and uow.session.get(Invoice, left[0]).recycler_id == a


def test_monthly_filing_sums_each_seller_and_red_letters_reduce_it(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    s1, s2 = seller(uow, 24, a), seller(uow, 25, a)
    issue(uow, a, s1, "200000.00")
    blue = issue(uow, a, s2, "1000.00")
    reversals.reverse(uow, principal=clerk(a), invoice_id=blue.invoice_id, reason=RedReason.SALES_ALLOWANCE,
                      amount=D("100.00"), today=DAY)
    issue(uow, a, s2, "5.00", on=dt.date(2026, 4, 2))  # next month: not in March's filing
    ids = filing.prepare_all_filings(uow, actor="t", today=dt.date(2026, 4, 1))
    report = filing.filing_report(uow, principal=ADMIN, filing_id=ids[0], with_lines=True)
    assert (report.month, report.due_on, report.state) == (dt.date(2026, 3, 1), dt.date(2026, 4, 15), "prepared")
    assert (report.sales, report.vat, report.urban_tax, report.income_tax) == (
        D("200900.00"), D("2000.00"), D("70.00"), D("1004.50"))
    assert report.total_tax == D("3124.50") and report.seller_count == 2 and report.invoice_count == 3
    assert [(line.seller_id, line.sales) for line in report.lines] == [(s1, D("200000.00")), (s2, D("900.00"))]


def test_unpaid_filing_past_the_15th_suspends_and_paying_lifts_it(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    seller_id = seller(uow, 26, a)
    issue(uow, a, seller_id, "100.00")
    [filing_id, _] = filing.prepare_all_filings(uow, actor="t", month=DAY)
    filing.mark_filed(uow, principal=clerk(a), filing_id=filing_id)
    assert recyclers.standing(uow, recycler_id=a, today=dt.date(2026, 4, 15)).status == "active"
    with pytest.raises(Conflict) as caught:  # checked on the fly, before the daily job ran
        issue(uow, a, seller_id, "1.00", on=dt.date(2026, 4, 16))
    assert caught.value.reason == "recycler.suspended"
    assert recyclers.check_all_suspensions(uow, today=dt.date(2026, 4, 16)) == {"suspended": 1, "active": 1}
    assert recyclers.standing(uow, recycler_id=a, today=dt.date(2026, 4, 16)).status == "suspended"
    report = filing.mark_paid(uow, principal=clerk(a), filing_id=filing_id, payment_reference="SJ-2026-04-0001",
                              today=dt.date(2026, 4, 16))
    assert report.state == "paid"
    assert recyclers.standing(uow, recycler_id=a, today=dt.date(2026, 4, 16)).status == "active"
    assert issue(uow, a, seller_id, "1.00", on=dt.date(2026, 4, 16)).figures.amount == D("1.00")


def test_a_filed_report_is_not_rebuilt(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    seller_id = seller(uow, 27, a)
    issue(uow, a, seller_id, "100.00")
    filing_id = filing.prepare_filing(uow, recycler_id=a, month=DAY, actor="t")
    filing.mark_filed(uow, principal=clerk(a), filing_id=filing_id)
    issue(uow, a, seller_id, "50.00")
    assert filing.prepare_filing(uow, recycler_id=a, month=DAY, actor="t") == filing_id
    assert filing.filing_report(uow, principal=ADMIN, filing_id=filing_id).sales == D("100.00")


def test_annual_statement_sums_the_sellers_year_across_recyclers(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 28, a, b)
    issue(uow, a, seller_id, "200000.00", on=dt.date(2026, 1, 20))
    issue(uow, b, seller_id, "1000.00", on=DAY)
    issue(uow, b, seller_id, "7.00", on=dt.date(2025, 12, 31))
    statement = statements.annual_statement(uow, principal=ADMIN, seller_id=seller_id, year=2026)
    assert statement.return_due == dt.date(2027, 3, 31)
    assert (statement.total.sales, statement.total.vat, statement.total.surcharges, statement.total.income_tax) == (
        D("201000.00"), D("2000.00"), D("120.00"), D("1005.00"))
    assert statement.months[0].sales == D("200000.00") and statement.months[2].sales == D("1000.00")
    assert [r.key for r in statement.recyclers] == [str(a), str(b)]


def test_invoice_document_masks_the_seller_for_clerks(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    blue = issue(uow, a, seller(uow, 29, a), "123.45")
    doc = documents.invoice_document(uow, principal=clerk(a), invoice_id=blue.invoice_id)
    assert "*" in doc.seller_id_number and doc.lines[0].amount == D("123.45")
    from subsidy_app.core.errors import NotFound

    with pytest.raises(NotFound):
        documents.invoice_document(uow, principal=clerk(b), invoice_id=blue.invoice_id)
