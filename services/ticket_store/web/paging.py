"""Paging of the long lists (Tickets, Incoming emails): 50 rows a page, newest first."""

from __future__ import annotations

from dataclasses import dataclass
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
