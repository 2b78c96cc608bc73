"""Page numbers from a query string and the pages of a list."""

from __future__ import annotations

import pytest

from recycling.paging import Page, page_number, within


@pytest.mark.parametrize(("raw", "number"), [("3", 3), (None, 1), ("", 1), ("0", 1), ("-2", 1), ("abc", 1),
                                             ("²", 1), ("１２", 1), ("9" * 30, 1)])
def test_a_page_number_is_a_positive_whole_number_or_page_one(raw: str | None, number: int) -> None:
    assert page_number(raw) == number


def test_a_list_of_101_rows_has_three_pages_and_a_number_past_the_end_is_the_last() -> None:
    assert Page([], 101, 3).pages == 3 and not Page([], 101, 3).has_next and Page([], 101, 3).has_prev
    assert Page([], 0, 1).pages == 1 and not Page([], 0, 1).has_prev
    assert within(9, 101) == 3 and within(9, 0) == 1 and within(2, 101) == 2
