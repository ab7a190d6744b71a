"""smtplib's clients with one change: a call between the message and the dot that ends DATA.

Why: an SMTP server takes a message for good when it reads that final dot, and only says
so afterwards (the 250). A mailer that writes "sent" to its ledger after the 250 and is
killed in between leaves the next owner of the partition to send the mail again (the
duplicate of RFC 1047), and that window is the server's reply plus a broker round trip:
milliseconds. Writing "sent" in ``before_dot`` instead leaves only the time between the
broker's ack and one ``send`` of three bytes, and a kill there loses the mail rather
than doubling it. Once the dot is in the kernel's socket buffer the server gets it even
if the process dies at once. If the server then refuses the message, or the connection
breaks before its answer, the caller writes the mail back as queued or failed
(services.mailer.worker).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from typing import Any

CRLF = b"\r\n"


class _DotHook:
    """Mixin over smtplib.SMTP / SMTP_SSL; `data` is the standard library's, split at the dot."""

    before_dot: Callable[[], None] | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        smtp: Any = self
        smtp.putcmd("data")
        code, repl = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        if isinstance(msg, str):
            msg = re.sub(r"(?:\r\n|\n|\r(?!\n))", "\r\n", msg).encode("ascii")
        body = re.sub(rb"(?m)^\.", b"..", msg)  # dot-stuffing, as smtplib does
        if not body.endswith(CRLF):
            body += CRLF
        smtp.send(body)
        if self.before_dot is not None:
            try:
                self.before_dot()
            except BaseException:
                smtp.close()  # no dot: the server drops the transaction with the connection
                raise
        smtp.send(b"." + CRLF)
        return smtp.getreply()  # type: ignore[no-any-return]


class SMTP(_DotHook, smtplib.SMTP):
    pass


class SMTP_SSL(_DotHook, smtplib.SMTP_SSL):  # noqa: N801 - smtplib's name
    pass
