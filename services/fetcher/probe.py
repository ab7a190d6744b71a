"""`supportdesk gateway test`: connect, log in, count, change nothing."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import GatewayEntry
from services.fetcher.errors import describe
from services.fetcher.imap import ImapMailbox
from services.fetcher.maildir import LocalMaildir
from services.fetcher.pop3 import Pop3Mailbox


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    messages: int | None = None
    unseen: int | None = None
    error: str = ""
    kind: str = ""

    def text(self, entry: GatewayEntry) -> str:
        where = (
            entry.maildir_path
            if entry.protocol == "maildir"
            else f"{entry.protocol} {entry.host}:{entry.port or 'default'} ({entry.security})"
        )
        if not self.ok:
            return f"FAILED {entry.name}: {where}: {self.error}"
        folder = f" {entry.folder}" if entry.protocol == "imap" else ""
        unseen = "n/a (POP3 has no read flag)" if self.unseen is None else str(self.unseen)
        return f"OK {entry.name}: {where}{folder}: {self.messages} messages, unseen {unseen}"


def probe(
    entry: GatewayEntry, password: str, *, ca_file: str | None, timeout: float = 20
) -> ProbeResult:
    """Read-only: IMAP STATUS (no SELECT, so no \\Recent lost), POP3 STAT then QUIT
    without RETR/DELE, Maildir directory counts."""
    try:
        if entry.protocol == "imap":
            box = ImapMailbox(entry, password, ca_file=ca_file, timeout=timeout, select=False)
            try:
                counts = box.status()
            finally:
                box.close()
            return ProbeResult(True, counts["messages"], counts["unseen"])
        if entry.protocol == "pop3":
            pop = Pop3Mailbox(entry, password, ca_file=ca_file, timeout=timeout)
            try:
                count = pop.stat()
                pop.quit()
            except BaseException:
                pop.abort()
                raise
            return ProbeResult(True, count, None)
        counts = LocalMaildir(entry.maildir_path).counts()
        return ProbeResult(True, counts["messages"], counts["unseen"])
    except Exception as exc:  # every failure is reported, with the password redacted
        kind, message = describe(exc, (password,))
        return ProbeResult(False, error=message, kind=kind)
