"""Figures too large for the ledger are refused by field, not by Decimal arithmetic failing (a 500)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subsidy_app.appliances.domain import parse_money
from subsidy_app.applications.form_input import money, optional_decimal
from subsidy_app.core.errors import ValidationFailed


@pytest.mark.parametrize("text", ["1e30", "1000000000000", "-1e40"])
def test_a_form_figure_past_the_ledger_names_its_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        optional_decimal({"invoice_total": text}, "invoice_total")
    assert "invoice_total" in refused.value.errors


def test_a_form_amount_at_the_ledgers_limit_is_kept() -> None:
    assert money({"invoice_total": "999999999999.99"}, "invoice_total") == Decimal("999999999999.99")


@pytest.mark.parametrize(("text", "value"), [("2699.00", Decimal("2699.00")), ("1e30", None), ("1e400", None),
                                             ("NaN", None), ("12.345", None)])
def test_a_bulk_files_price(text: str, value: Decimal | None) -> None:
    assert parse_money(text) == value
