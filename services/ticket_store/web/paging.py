"""Paging of the long lists (Tickets, Incoming emails): 50 rows a page, newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from services.ticket_store.web.forms import MAX_ID

PAGE_SIZE = 50


@dataclass(frozen=True)
class Paging:
    """Which slice of a list a page shows, from its `?page=` (1 = the newest)."""

    number: int

    @classmethod
    def of(cls, value: str) -> Paging:
        text = value.strip()
        return cls(int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else 1)

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE

    @property
    def limit(self) -> int:
        """One row more than shown, to know whether an older page exists."""
        return PAGE_SIZE + 1

    def links(self, path: str, more: bool, **filters: str) -> tuple[str, str]:
        """The "newer" and "older" links ("" when there is none), keeping the filters."""
        kept = {k: v for k, v in filters.items() if v}

        def url(number: int) -> str:
            params = kept | ({"page": str(number)} if number > 1 else {})
            return f"{path}?{urlencode(params)}" if params else path

        return (
            url(self.number - 1) if self.number > 1 else "",
            url(self.number + 1) if more else "",
        )


def paged(
    page: str, path: str, fetch: Callable[[int, int], Sequence[Any]], **filters: str
) -> dict[str, Any]:
    """Page `page` (as in ?page=) of a list at `path`: `fetch(offset, limit)` gives its rows;
    the rows shown, the page's number and the links to the newer and older pages."""
    shown = Paging.of(page)
    rows = fetch(shown.offset, shown.limit)
    newer, older = shown.links(path, len(rows) > PAGE_SIZE, **filters)
    return {"rows": rows[:PAGE_SIZE], "page": shown.number, "newer": newer, "older": older}
