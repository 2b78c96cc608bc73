"""Large IN lists are cut into slices PostgreSQL accepts (at most 65,535 parameters per statement)."""

from __future__ import annotations

from subsidy_app.core.db import IN_LIST_SLICE, slices


def test_slices_keep_order_and_every_value() -> None:
    values = list(range(25_001))
    parts = list(slices(values))
    assert [len(p) for p in parts] == [IN_LIST_SLICE, IN_LIST_SLICE, 5_001]
    assert [v for p in parts for v in p] == values


def test_no_values_give_no_slices() -> None:
    assert list(slices([])) == []
