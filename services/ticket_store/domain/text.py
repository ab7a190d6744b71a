"""Text as the store keeps it: email addresses compared case-insensitively, mail
HTML shown only after cleaning, and what typed input may hold.

The checks (`plain_address`, `one_line`, `clean_text`) are shared by every way in
(API bodies, web forms, the CLI's add commands): a value that could forge a mail
header or a log line, or that the database refuses, is refused, never cleaned up.
"""

from __future__ import annotations

import re

import nh3

# One plain address, the mailer's rule: local@domain, no display name, no brackets,
# no second recipient, no whitespace or control characters.
_ATOM = r"[^\s@<>()\[\],;:\"\\\x00-\x1f\x7f]"
_ADDRESS = re.compile(rf"{_ATOM}{{1,64}}@{_ATOM}{{1,255}}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalise_email(address: str) -> str:
    return address.strip().lower()


def sanitise_html(html: str) -> str:
    """Mail HTML is stored for display only after nh3 has removed scripts, handlers and the like."""
    return nh3.clean(html) if html else ""


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no database can keep it
        return False
    return True


def clean_text(value: str) -> str:
    """Any stored text (a message, a comment): no NUL, no lone surrogates."""
    if "\0" in value or not _encodable(value):
        raise ValueError("the text holds a NUL character or invalid Unicode")
    return value


def one_line(value: str) -> str:
    """A name, title or subject: one line, no control characters (CR and LF forge mail
    headers and log lines; PostgreSQL refuses NUL)."""
    if _CONTROL.search(value) or not _encodable(value):
        raise ValueError("must be one line without control characters")
    return value


def plain_address(value: str) -> str:
    """Exactly one plain email address (`local@domain`, at most 320 characters), stripped;
    anything that could smuggle a header or a second recipient is refused."""
    address = value.strip()
    if len(address) > 320 or not _ADDRESS.fullmatch(address) or not _encodable(address):
        raise ValueError("must be one plain email address (name@example.org)")
    return address
