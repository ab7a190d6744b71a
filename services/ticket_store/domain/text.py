"""Text as the store keeps it: email addresses compared case-insensitively, mail
HTML shown only after cleaning."""

from __future__ import annotations

import nh3


def normalise_email(address: str) -> str:
    return address.strip().lower()


def sanitise_html(html: str) -> str:
    """Mail HTML is stored for display only after nh3 has removed scripts, handlers and the like."""
    return nh3.clean(html) if html else ""
