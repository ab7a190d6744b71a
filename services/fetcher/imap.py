"""IMAP: find new mail without marking it, fetch with BODY.PEEK[], mark only when told."""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient

from kernel.oauth2.tokens import mechanism
from schemas.events import GatewayEntry
from services.fetcher.imap_fetch import fetch_bodies, fetch_sizes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    data: bytes


def tls_context(entry: GatewayEntry, ca_file: str | None = None) -> ssl.SSLContext:
    """System CAs plus the configured private CA; verification off only when asked."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    if not entry.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def quiet_imaplib(client: IMAPClient) -> None:
    """Undo imapclient's imaplib debug level 5 unless its logger would print it.

    At level 5 imaplib formats the repr of every response, a FETCH of 200 mails
    included (about 2 MB of text per batch, thrown away by a logger that is off):
    two thirds of the fetch's CPU.
    """
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


class ImapMailbox:
    """One logged-in connection with the gateway's folder selected (read-write)."""

    def __init__(
        self,
        entry: GatewayEntry,
        password: str,
        *,
        ca_file: str | None = None,
        timeout: float = 30,
        select: bool = True,
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
        quiet_imaplib(self.client)
        try:
            if entry.security == "starttls":
                self.client.starttls(ctx)
            if entry.auth == "oauth2":  # password is an access token (XOAUTH2 or OAUTHBEARER)
                offered = {
                    c.decode().partition("=")[2]
                    for c in self.client.capabilities()
                    if c.upper().startswith(b"AUTH=")
                }
                if mechanism(offered) == "OAUTHBEARER":
                    self.client.oauthbearer_login(entry.username, password)
                else:
                    self.client.oauth2_login(entry.username, password)
            else:
                self.client.login(entry.username, password)
            self.uidvalidity = 0
            self.uidnext = 0
            if select:
                self.select()
        except BaseException:
            self.close()
            raise

    def select(self) -> None:
        status = self.client.select_folder(self.entry.folder)
        self.uidvalidity = int(status[b"UIDVALIDITY"])
        self.uidnext = int(status.get(b"UIDNEXT", 0) or 0)

    def status(self) -> dict[str, int]:
        """Message and unseen counts without selecting (STATUS changes nothing)."""
        st = self.client.folder_status(self.entry.folder, [b"MESSAGES", b"UNSEEN"])
        return {"messages": int(st[b"MESSAGES"]), "unseen": int(st[b"UNSEEN"])}

    def candidates(self, high_uid: int) -> list[int]:
        """Unseen mail, plus anything above the watermark even if another client read it."""
        found = set(self.client.search("UNSEEN"))
        if high_uid >= 0:
            # "n:*" always matches the highest UID, even below n: filter.
            newer = self.client.search(["UID", f"{high_uid + 1}:*"])
            found.update(u for u in newer if u > high_uid)
        return sorted(found)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        return fetch_sizes(self.client, uids)

    def fetch(self, uids: list[int]) -> list[FetchedMail]:
        """BODY.PEEK[] leaves \\Seen alone; mail expunged meanwhile is simply absent."""
        if not uids:
            return []
        bodies = fetch_bodies(self.client, uids)
        return [FetchedMail(uid=uid, data=bodies[uid]) for uid in sorted(bodies)]

    def mark_done(self, uids: list[int], after_fetch: str) -> None:
        if not uids:
            return
        # .SILENT: no FETCH answer per mail to read and parse (a tenth of a poll's CPU).
        if after_fetch == "delete":
            self.client.delete_messages(uids, silent=True)
            if self.client.has_capability("UIDPLUS"):
                self.client.uid_expunge(uids)
            else:
                self.client.expunge()
        else:
            self.client.add_flags(uids, [b"\\Seen"], silent=True)

    def supports_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    def wait_idle(
        self, deadline: float, stopped: Callable[[], bool], renew_s: float = 600.0
    ) -> bool:
        """IDLE until new mail, the deadline or a stop; True when the server announced mail."""
        renew_at = time.monotonic() + renew_s
        self.client.idle()
        try:
            while not stopped():
                now = time.monotonic()
                if now >= deadline:
                    return False
                if now >= renew_at:
                    self.client.idle_done()
                    self.client.idle()
                    renew_at = now + renew_s
                if self._buffered():
                    return True  # announced together with "+ idling": already read ahead
                responses = self.client.idle_check(timeout=min(1.0, max(0.05, deadline - now)))
                if responses:
                    log.debug("IDLE %s: %s", self.entry.name, responses)
                for resp in responses:
                    if len(resp) >= 2 and resp[1] in (b"EXISTS", b"RECENT"):
                        return True
            return False
        finally:
            self.client.idle_done()

    def _buffered(self) -> bool:
        """Whether the reader already holds server data that a socket poll cannot see.

        imapclient's idle_check() polls the socket, but a response that arrived in
        the same read as the IDLE continuation sits in the TLS or file buffer: the
        poll would never wake for it and the mail would wait a whole poll interval.
        """
        imap = self.client._imap
        sock = self.client.socket()
        timeout = sock.gettimeout()
        try:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return True
            sock.setblocking(False)
            return bool(imap.file.peek(1))
        except (OSError, ValueError):  # nothing to read without blocking
            return False
        finally:
            sock.settimeout(timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the connection may already be gone
            self.client.logout()
        with contextlib.suppress(Exception):
            self.client.shutdown()
