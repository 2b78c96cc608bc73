"""The largest values the shared column types hold (pure: the domain checks input against them)."""

from __future__ import annotations

from decimal import Decimal

MAX_ID = 2**63 - 1  # the largest BigId: a larger number sent as an id is no record, not a database error
LARGEST_MONEY = Decimal("999999999999.99")  # what a Money column holds
LARGEST_WEIGHT = Decimal("99999999999.999")  # what a Weight column holds
