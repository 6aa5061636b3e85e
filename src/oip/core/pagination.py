"""Long lists, one page at a time: the page a query returns and the page numbers a pager links.

Pages render the pager with the macro in ``core/templates/pager.html``
(``{% import "pager.html" as paging %}`` … ``paging.pager(page, pages, page_url, window, action)``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def page_count(total: int, size: int) -> int:
    """How many pages ``total`` items fill, ``size`` a page (at least one, even when empty)."""
    return max(1, -(-total // size))


@dataclass
class Page(Generic[T]):
    """Page ``page`` (from 1) of a list of ``total`` items, ``size`` a page."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.size)


def page_window(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last, and ``around`` either side of the current page;
    None where numbers are left out (shown as …). A gap of a single page shows that page instead."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    prev = 0
    for n in shown:
        if n - prev == 2:
            out.append(n - 1)
        elif n - prev > 2:
            out.append(None)
        out.append(n)
        prev = n
    return out
