"""IMAP: take unseen mail without marking it, and mark it only when told."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from imapclient import IMAPClient

from schemas.events import GatewayEntry


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    data: bytes


def tls_context(entry: GatewayEntry, ca_file: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    if not entry.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ImapMailbox:
    def __init__(
        self, entry: GatewayEntry, password: str, *, ca_file: str | None = None, timeout: float = 30
    ) -> None:
        self.entry = entry
        ctx = tls_context(entry, ca_file)
        self.client = IMAPClient(
            entry.host,
            port=entry.port or (993 if entry.security == "tls" else 143),
            ssl=entry.security == "tls",
            ssl_context=ctx,
            timeout=timeout,
        )
        if entry.security == "starttls":
            self.client.starttls(ctx)
        self.client.login(entry.username, password)
        status = self.client.select_folder(entry.folder)
        self.uidvalidity = int(status[b"UIDVALIDITY"])

    def unseen(self, batch: int = 200) -> Iterator[FetchedMail]:
        uids = sorted(self.client.search("UNSEEN"))
        for i in range(0, len(uids), batch):
            chunk = uids[i : i + batch]
            for uid, data in sorted(self.client.fetch(chunk, ["BODY.PEEK[]"]).items()):
                body = data.get(b"BODY[]")
                if body is not None:
                    yield FetchedMail(uid=uid, data=bytes(body))

    def mark_done(self, uids: list[int], after_fetch: str) -> None:
        if not uids:
            return
        if after_fetch == "delete":
            self.client.delete_messages(uids)
            if self.client.has_capability("UIDPLUS"):
                self.client.uid_expunge(uids)
            else:
                self.client.expunge()
        else:
            self.client.add_flags(uids, [b"\\Seen"])

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the connection may already be gone
            self.client.logout()
