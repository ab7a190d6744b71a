"""Log lines that cannot be forged: control characters in a message are escaped.

A gateway name or an email address with CR/LF (refused at the door, but older rows
and mail headers exist) would otherwise start a new, fake log line. The escaping is
in the log record itself, so every handler and formatter (uvicorn's too) gets it.
"""

from __future__ import annotations

import logging

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CODES = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _CODES}


def escape_controls(text: str) -> str:
    return text.translate(_ESCAPES)


class EscapedRecord(logging.LogRecord):
    """A log record whose message comes out on one line, whatever its arguments hold."""

    def getMessage(self) -> str:  # noqa: N802 - logging's name
        return escape_controls(super().getMessage())


def escape_log_lines() -> None:
    """Every log record of this process from now on is an EscapedRecord."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(EscapedRecord)
