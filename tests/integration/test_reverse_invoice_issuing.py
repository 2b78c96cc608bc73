"""Reverse invoices: eligibility, consent, purchases, the cap, the month rule and numbering (rolled back)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from reverse_invoice import invoices, purchases, recyclers, sellers
from reverse_invoice.domain import InvoiceType, VatMethod
from reverse_invoice.models import Invoice, Purchase, Seller
from subsidy_app.core.errors import Conflict, NotFound, ValidationFailed
from subsidy_app.core.uow import UnitOfWork
from subsidy_app.identity.models import Person
from tests.integration.ri_support import DAY, clerk, issue, purchase, qualify, seller

D = Decimal


@pytest.fixture
def two(uow: UnitOfWork, demo: dict[str, int]) -> tuple[int, int]:
    """Two qualified recyclers."""
    a, b = demo["org:recycler:dismantler"], demo["org:recycler:renewable"]
    qualify(uow, a)
    qualify(uow, b)
    return a, b


def test_seller_is_stored_encrypted_and_shown_masked_to_clerks(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    seller_id = seller(uow, 1, a)
    row = uow.session.get(Seller, seller_id)
    person = uow.session.get(Person, row.person_id)
    assert b"141102" not in person.id_number_enc and "*" in person.id_number_masked
    shown = sellers.view_seller(uow, principal=clerk(a), seller_id=seller_id)
    assert not shown.revealed and "*" in shown.id_number and "*" in shown.bank_card
    assert [c.recycler_id for c in shown.consents] == [a]


def test_invalid_id_number_is_refused_naming_the_field(uow: UnitOfWork, two: tuple[int, int]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sellers.register_seller(uow, principal=clerk(two[0]), name="张三", id_number="141102198001010010",
                                bank_card="6217000000000000017")
    assert "id_number" in caught.value.errors


def test_no_consent_means_no_purchase_and_no_invoice(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 2, a)
    with pytest.raises(Conflict) as caught:
        purchase(uow, b, seller_id, "100.00")
    assert caught.value.reason == "seller.no_consent"
    with pytest.raises(ValidationFailed) as refused:
        sellers.record_consent(uow, principal=clerk(b), seller_id=seller_id, recycler_id=b, text_version="old",
                               agreed=True)
    assert refused.value.reason == "seller.consent_outdated"


def test_consent_keeps_the_text_version_and_time(uow: UnitOfWork, two: tuple[int, int]) -> None:
    seller_id = seller(uow, 3, two[0])
    view = sellers.view_seller(uow, principal=clerk(two[0]), seller_id=seller_id)
    assert view.consents[0].text_version == sellers.consent_text()[0]
    assert view.consents[0].consented_at is not None


def test_purchase_lines_keep_six_decimals_and_check_the_amount(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    seller_id = seller(uow, 4, a)
    line = purchases.LineIn(product_name="废铜", tax_code="1060201030000000000", unit="千克",
                            quantity=D("12.345678"), unit_price=D("61.5"), specification="紫铜")
    from reverse_invoice.demo import demo_evidence

    purchase_id = purchases.record_purchase(uow, principal=clerk(a), recycler_id=a, seller_id=seller_id,
                                            purchased_on=DAY, lines=[line], evidence=demo_evidence(D("759.26"), "x"),
                                            intake_ref="intake-42")
    stored = purchases.purchase_lines(uow, purchase_id)[0]
    assert stored.quantity == D("12.345678") and stored.amount == D("759.26")
    assert uow.session.get(Purchase, purchase_id).intake_ref == "intake-42"
    with pytest.raises(ValidationFailed) as caught:
        purchases.record_purchase(uow, principal=clerk(a), recycler_id=a, seller_id=seller_id, purchased_on=DAY,
                                  lines=[purchases.LineIn("废铜", "1060201030000000000", "千克", D("1.1234567"),
                                                          D("1"))], evidence=demo_evidence(D("1"), "y"))
    assert "lines.0.quantity" in caught.value.errors


def test_issuing_computes_the_worked_example_and_the_net_payable(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    result = issue(uow, a, seller(uow, 5, a), "200000.00")
    row = uow.session.get(Invoice, result.invoice_id)
    assert (row.vat, row.urban_tax, row.education, row.local_education, row.income_tax) == (
        D("2000.00"), D("70.00"), D("30.00"), D("20.00"), D("1000.00"))
    assert row.net_payable == D("198880.00") and row.total_incl_vat == D("202000.00")
    assert result.number == f"26142{a:07d}00000001" and len(result.number) == 20


def test_a_month_of_exactly_100000_is_exempt_and_one_fen_more_lists_earlier_invoices(
        uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 6, a, b)
    first = issue(uow, a, seller_id, "60000.00")
    second = issue(uow, b, seller_id, "40000.00")
    assert first.figures.vat_exempt and second.figures.vat_exempt and second.corrections_needed == ()
    third = issue(uow, a, seller_id, "0.01")
    assert not third.figures.vat_exempt and third.figures.vat == D("0.00")
    assert third.corrections_needed == (first.invoice_id, second.invoice_id)
    assert invoices.corrections_needed(uow, seller_id=seller_id, month=DAY) == third.corrections_needed


def test_cap_of_exactly_five_million_across_two_recyclers_and_one_fen_more_is_refused(
        uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 7, a, b)
    issue(uow, a, seller_id, "2500000.00", on=dt.date(2025, 9, 5))
    issue(uow, b, seller_id, "2499999.99", on=DAY)
    issue(uow, b, seller_id, "0.01", on=DAY)  # exactly 5,000,000.00 in the window
    with pytest.raises(Conflict) as caught:
        issue(uow, a, seller_id, "0.01", on=DAY)
    assert caught.value.reason == "seller.cap_exceeded"


def test_sales_twelve_months_back_fall_out_of_the_window(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, _ = two
    seller_id = seller(uow, 8, a)
    issue(uow, a, seller_id, "5000000.00", on=dt.date(2025, 3, 31))
    with pytest.raises(Conflict):
        issue(uow, a, seller_id, "1.00", on=dt.date(2026, 2, 28))  # Feb 2026's window still holds March 2025
    assert issue(uow, a, seller_id, "5000000.00", on=dt.date(2026, 3, 1)).figures.amount == D("5000000.00")


def test_unqualified_recycler_cannot_issue(uow: UnitOfWork, demo: dict[str, int]) -> None:
    a = demo["org:recycler:dismantler"]
    qualify(uow, a, approve=False)
    seller_id = seller(uow, 9, a)
    with pytest.raises(Conflict) as caught:
        issue(uow, a, seller_id, "10.00")
    assert caught.value.reason == "recycler.not_qualified"


def test_simplified_method_recycler_cannot_issue_a_special_invoice(uow: UnitOfWork, demo: dict[str, int]) -> None:
    a = demo["org:recycler:dismantler"]
    qualify(uow, a, vat_method=VatMethod.SIMPLIFIED)
    seller_id = seller(uow, 10, a)
    with pytest.raises(ValidationFailed) as caught:
        issue(uow, a, seller_id, "10.00", invoice_type=InvoiceType.SPECIAL)
    assert caught.value.reason == "recycler.invoice_type"
    assert issue(uow, a, seller_id, "10.00").figures.amount == D("10.00")


def test_a_purchase_is_invoiced_once_and_only_by_its_own_recycler(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 11, a)
    purchase_id = purchase(uow, a, seller_id, "10.00")
    with pytest.raises(NotFound):
        invoices.issue_invoice(uow, principal=clerk(b), purchase_id=purchase_id, today=DAY)
    invoices.issue_invoice(uow, principal=clerk(a), purchase_id=purchase_id, today=DAY)
    with pytest.raises(Conflict) as caught:
        invoices.issue_invoice(uow, principal=clerk(a), purchase_id=purchase_id, today=DAY)
    assert caught.value.reason == "purchase.already_invoiced"


def test_numbers_restart_each_year_per_recycler(uow: UnitOfWork, two: tuple[int, int]) -> None:
    a, b = two
    seller_id = seller(uow, 12, a, b)
    issue(uow, a, seller_id, "1.00", on=dt.date(2025, 12, 31))
    issue(uow, a, seller_id, "1.00", on=dt.date(2026, 1, 1))
    issue(uow, b, seller_id, "1.00", on=dt.date(2026, 1, 1))
    seqs = uow.session.execute(select(Invoice.recycler_id, Invoice.year, Invoice.seq).order_by(Invoice.id)).all()
    assert [tuple(r) for r in seqs] == [(a, 2025, 1), (a, 2026, 1), (b, 2026, 1)]


def test_profile_change_needs_reapproval(uow: UnitOfWork, two: tuple[int, int]) -> None:
    from reverse_invoice.domain import LocationClass, Qualification
    from tests.integration.ri_support import ADMIN

    a, _ = two
    standing = recyclers.register_profile(uow, principal=ADMIN, recycler_id=a,
                                          qualification=Qualification.HAZARDOUS_WASTE, qualification_no="HW-1",
                                          vat_method=VatMethod.GENERAL, location_class=LocationClass.ELSEWHERE)
    assert standing.qualification_state == "pending" and not standing.may_issue
