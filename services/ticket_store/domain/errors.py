"""The refusals an action may raise; each adapter maps them to its own form once
(JSON status codes in the API, an error page in the web, an exit code in the CLI).

Bad input that is not one of these stays a `ValueError` (422 / the form again).
"""

from __future__ import annotations


class NotFound(LookupError):
    """The object does not exist, or the asker may not know that it does."""


class Forbidden(PermissionError):
    """The object exists and the asker may know it, but may not see or change it."""


class Conflict(ValueError):
    """The change collides with existing data (a duplicate name, an email handled already…)."""


class InvalidTransition(ValueError):
    """A ticket status change the rules do not allow."""


class InsufficientIncidents(Exception):
    """The department sells per-incident support and the client has none left."""

    def __init__(self, notice: str = "") -> None:
        super().__init__(notice or "insufficient support incidents")
        self.notice = notice
