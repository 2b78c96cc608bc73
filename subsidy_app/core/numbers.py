"""How money and quantities are written out: fixed notation, never an exponent (2480, not 2.48E+3)."""

from __future__ import annotations

from decimal import Decimal


def money_str(value: Decimal) -> str:
    """Format an amount in yuan with two places (fen)."""
    return f"{value:.2f}"


def number_str(value: Decimal) -> str:
    """Format a rate or measure without exponent or trailing zeros."""
    return format(value.normalize(), "f")
