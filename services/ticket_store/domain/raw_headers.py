"""The sender and subject of a raw mail, for the mail log (only the header block is read).

The store reads every raw mail for this, so it is kept cheap: the two headers are
found in the header block by hand and decoded with `email.header` (the full
`email.policy.default` parser costs about twenty times as much).
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.utils import getaddresses
from functools import lru_cache

HEADER_LIMIT = 64 * 1024
_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^(from|subject)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def sender_and_subject(data: bytes) -> tuple[str, str]:
    """(lower-case From address, decoded Subject); ("", "") parts for what cannot be read.

    Never raises: a mail the router calls malformed still gets a row in the log.
    """
    head = data[:HEADER_LIMIT]
    end = _END.search(head)
    if end is not None:
        head = head[: end.start()]
    found: dict[str, str] = {}
    for m in _FIELD.finditer(head):
        name = m.group(1).lower().decode()
        if name not in found:  # the first of each, as mail programs show it
            found[name] = re.sub(r"\r?\n[ \t]", " ", m.group(2).decode("utf-8", "replace"))
    return _address(found.get("from", "")), _decoded(found.get("subject", ""))[:1000]


def _decoded(value: str) -> str:
    if "=?" not in value:  # no encoded word (most subjects): what decode_header gives back
        return " ".join(value.split())
    try:
        text = str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - a broken encoded word: shown as it came
        text = value
    return " ".join(text.split())


def _address(value: str) -> str:
    # The same senders write again and again, and parsing is the cost: cached, for
    # ordinary From lines only (the cache stays a few MB whatever the mail holds).
    return _cached_address(value) if len(value) <= 1000 else _parsed_address(value)


@lru_cache(maxsize=4096)
def _cached_address(value: str) -> str:
    return _parsed_address(value)


def _parsed_address(value: str) -> str:
    try:
        pairs = getaddresses([value])  # encoded words hold no commas: split first
    except Exception:  # noqa: BLE001
        return ""
    address = pairs[0][1] if pairs else ""
    return address.strip("<>").lower()[:320]
