"""Reverse-invoicing tax maths: the worked example, the month rule's boundary, the rolling window, rule data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reverse_invoice.domain import (
    ALLOWED_INVOICE_TYPES,
    InvoiceType,
    LocationClass,
    RedReason,
    RuleGap,
    VatMethod,
    add_months,
    compute_taxes,
    filing_due_date,
    line_amount,
    month_is_taxable,
    reversal_amount,
    reversal_figures,
    rolling_window,
    within_cap,
)
from reverse_invoice.tax_rules import RULES_FILE, TaxRulesInvalid, load_tax_rules, parse_tax_rules

D = Decimal
DAY = dt.date(2026, 3, 10)


@pytest.fixture(scope="module")
def rules():
    return load_tax_rules()


def test_worked_example_gives_exactly_the_domain_figures(rules) -> None:
    rates = rules.rates(DAY)
    month_sales = D("200000.00")
    taxable = month_is_taxable(month_sales, rates.monthly_threshold)
    figures = compute_taxes(month_sales, taxable=taxable, rates=rates, location=LocationClass.CITY)
    assert taxable
    assert (figures.vat, figures.urban_tax, figures.education, figures.local_education, figures.income_tax) == (
        D("2000.00"), D("70.00"), D("30.00"), D("20.00"), D("1000.00"))
    assert figures.total_incl_vat == D("202000.00")
    assert figures.total_tax == D("3120.00")
    assert figures.net_payable == D("198880.00")


def test_a_month_of_exactly_the_threshold_is_exempt_and_one_fen_more_is_taxable(rules) -> None:
    rates = rules.rates(DAY)
    assert rates.monthly_threshold == D("100000.00")
    assert not month_is_taxable(D("100000.00"), rates.monthly_threshold)
    assert month_is_taxable(D("100000.01"), rates.monthly_threshold)
    exempt = compute_taxes(D("100000.00"), taxable=False, rates=rates, location=LocationClass.CITY)
    assert (exempt.vat, exempt.surcharges, exempt.income_tax) == (D("0.00"), D("0.00"), D("500.00"))
    taxed = compute_taxes(D("100000.01"), taxable=True, rates=rates, location=LocationClass.CITY)
    assert taxed.vat == D("1000.00") and taxed.vat_rate == D("0.01")


@pytest.mark.parametrize(("location", "urban"), [
    (LocationClass.CITY, D("70.00")), (LocationClass.COUNTY_TOWN, D("50.00")), (LocationClass.ELSEWHERE, D("10.00")),
])
def test_urban_maintenance_tax_follows_the_location_class_halved(rules, location, urban) -> None:
    figures = compute_taxes(D("200000"), taxable=True, rates=rules.rates(DAY), location=location)
    assert figures.urban_tax == urban


def test_relief_and_the_1_percent_rate_end_after_2027(rules) -> None:
    last = rules.rates(dt.date(2027, 12, 31))
    after = rules.rates(dt.date(2028, 1, 1))
    assert (last.vat_rate, last.relief_factor) == (D("0.01"), D("0.5"))
    assert (after.vat_rate, after.relief_factor) == (D("0.03"), D("1"))
    figures = compute_taxes(D("200000"), taxable=True, rates=after, location=LocationClass.CITY)
    assert (figures.vat, figures.urban_tax, figures.education, figures.local_education) == (
        D("6000.00"), D("420.00"), D("180.00"), D("120.00"))


def test_nothing_is_in_force_before_the_announcement(rules) -> None:
    with pytest.raises(RuleGap):
        rules.rates(dt.date(2024, 4, 28))
    assert rules.rates(dt.date(2024, 4, 29)).seller_cap == D("5000000.00")


def test_rolling_window_is_this_month_and_the_eleven_before() -> None:
    start, end = rolling_window(dt.date(2026, 3, 17), 12)
    assert (start, end) == (dt.date(2025, 4, 1), dt.date(2026, 3, 1))
    # Sales 12 months back (March 2025) fall out of the window; April 2025 is still in it.
    assert not start <= dt.date(2025, 3, 1) <= end
    assert start <= dt.date(2025, 4, 1) <= end
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)


def test_cap_of_exactly_five_million_is_allowed_and_one_fen_more_is_not(rules) -> None:
    cap = rules.rates(DAY).seller_cap
    assert within_cap(D("4999000.00"), D("1000.00"), cap)
    assert not within_cap(D("4999000.00"), D("1000.01"), cap)


def test_simplified_method_payers_issue_ordinary_invoices_only() -> None:
    assert ALLOWED_INVOICE_TYPES[VatMethod.SIMPLIFIED] == {InvoiceType.ORDINARY}
    assert InvoiceType.SPECIAL in ALLOWED_INVOICE_TYPES[VatMethod.GENERAL]


def test_reversal_rules_full_for_01_to_03_partial_for_04(rules) -> None:
    full = rules.red_reasons[RedReason.GOODS_RETURNED]
    allowance = rules.red_reasons[RedReason.SALES_ALLOWANCE]
    assert reversal_amount(full, requested=None, remaining=D("500.00")) == D("500.00")
    assert reversal_amount(full, requested=D("100.00"), remaining=D("500.00")) is None
    assert reversal_amount(allowance, requested=D("100.00"), remaining=D("500.00")) == D("100.00")
    assert reversal_amount(allowance, requested=D("500.01"), remaining=D("500.00")) is None
    assert reversal_amount(allowance, requested=None, remaining=D("500.00")) is None
    assert reversal_amount(full, requested=None, remaining=D("0.00")) is None


def test_partial_reversals_add_up_to_the_original_to_the_fen(rules) -> None:
    original = compute_taxes(D("200000.03"), taxable=True, rates=rules.rates(DAY), location=LocationClass.ELSEWHERE)
    first = reversal_figures(original, original.minus(original), D("66666.67"))
    reversed_so_far = first.negated()
    second = reversal_figures(original, reversed_so_far, D("133333.36"))
    total = first.negated().minus(second)  # first + second, as positives
    assert total.amount == original.amount and total.vat == original.vat
    assert total.urban_tax == original.urban_tax and total.income_tax == original.income_tax


def test_filing_is_due_on_the_15th_of_the_next_month(rules) -> None:
    day = rules.rates(DAY).filing_due_day
    assert filing_due_date(dt.date(2026, 12, 1), day) == dt.date(2027, 1, 15)
    assert rules.annual_return_due_date(2026) == dt.date(2027, 3, 31)


def test_line_amount_is_rounded_once_to_the_fen() -> None:
    assert line_amount(D("1.234567"), D("2.345")) == D("2.90")


def test_every_period_carries_a_source_and_overlaps_are_refused() -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    assert text.count("source:") >= 12
    broken = text.replace("to: 2027-12-31\n    rate: \"0.01\"", "to: 2028-06-30\n    rate: \"0.01\"")
    with pytest.raises(TaxRulesInvalid, match="overlap"):
        parse_tax_rules(broken)
    with pytest.raises(TaxRulesInvalid, match="quoted"):
        parse_tax_rules(text.replace('rate: "0.005"', "rate: 0.005"))
