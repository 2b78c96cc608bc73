"""One page of a list: its rows, the total count and where it sits, for the portal's 上一页/下一页."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
PAGE_SIZE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows of page `number` (from 1) of `size` rows each, out of `total`."""

    items: list[T]
    total: int
    number: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one, shown as "第 1/1 页" when empty)."""
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.number < self.pages


def page_number(raw: str | None) -> int:
    """Read a page number from a query string: anything but a positive whole number is page 1."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**6 else 1


def offset(number: int, size: int = PAGE_SIZE) -> int:
    """The first row of page `number`."""
    return (number - 1) * size


def within(number: int, total: int, size: int = PAGE_SIZE) -> int:
    """Bring a page number past the end back to the last page."""
    return min(number, max(1, -(-total // size)))
