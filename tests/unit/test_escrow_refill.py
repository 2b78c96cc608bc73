"""How much an escrow tranche is refilled with, and the setting's bounds (rules.escrow)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subsidy_app.rules import escrow


@pytest.fixture(autouse=True)
def four_tranches():
    escrow.configure(tranches=4)
    yield
    escrow.configure(tranches=0)


def test_a_refill_is_an_eighth_of_the_free_money_with_four_tranches_rounded_down_to_the_fen() -> None:
    assert escrow.refill_amount(Decimal("1000.00"), Decimal("100.00")) == Decimal("125.00")
    assert escrow.refill_amount(Decimal("1000.07"), Decimal("100.00")) == Decimal("125.00")  # never a fen more


def test_no_refill_when_the_share_would_not_fund_one_more_such_sale() -> None:
    # Near exhaustion the money stays on the pool row, where every till can reach it.
    assert escrow.refill_amount(Decimal("700.00"), Decimal("100.00")) == Decimal("0.00")


def test_the_number_of_tranches_cannot_be_negative_and_zero_turns_escrow_off() -> None:
    with pytest.raises(ValueError):
        escrow.configure(tranches=-1)
    escrow.configure(tranches=0)
    assert escrow.tranches() == 0
