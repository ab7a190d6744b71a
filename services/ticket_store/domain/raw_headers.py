"""The sender and subject of a raw mail, for the mail log (only the header block is read)."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import getaddresses

HEADER_LIMIT = 64 * 1024
_END = re.compile(rb"\r?\n\r?\n")


def sender_and_subject(data: bytes) -> tuple[str, str]:
    """(lower-case From address, decoded Subject); ("", "") parts for what cannot be read.

    Never raises: a mail the router calls malformed still gets a row in the log.
    """
    head = data[:HEADER_LIMIT]
    end = _END.search(head)
    if end is not None:
        head = head[: end.start()]
    try:
        msg = BytesHeaderParser(policy=default).parsebytes(head + b"\r\n\r\n")
    except Exception:  # noqa: BLE001 - any bytes in
        return "", ""
    return _address(msg), _header(msg, "subject")[:1000]


def _header(msg: object, name: str) -> str:
    try:
        value = msg.get(name)  # type: ignore[attr-defined]
        return " ".join(str(value or "").split())
    except Exception:  # noqa: BLE001 - a broken encoded word
        return ""


def _address(msg: object) -> str:
    try:
        value = msg.get("from")  # type: ignore[attr-defined]
        addresses = getattr(value, "addresses", None)
        if addresses:
            first: Address = addresses[0]
            return (first.addr_spec or "").strip("<>").lower()[:320]
        pairs = getaddresses([str(value or "")])
        return (pairs[0][1] if pairs else "").strip("<>").lower()[:320]
    except Exception:  # noqa: BLE001
        return ""
