"""POP3: list by UIDL, retrieve, and delete only when told; QUIT commits the session.

POP3 has no read flag of its own: some servers set \\Seen at QUIT after RETR,
some never do (the seed's warning). The fetcher therefore never relies on the
server and remembers the UIDLs it published (see state.py). A server without
UIDL gets a content hash in its place.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import poplib
from dataclasses import dataclass

from kernel.oauth2.tokens import mechanism, oauthbearer, xoauth2_b64
from schemas.events import GatewayEntry
from services.fetcher.imap import tls_context

# poplib refuses lines over 2 KB; real mail (unwrapped HTML) has longer ones.
poplib._MAXLINE = max(poplib._MAXLINE, 1 << 20)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Pop3Item:
    number: int
    uidl: str
    data: bytes | None = None  # set when the UIDL had to be a content hash


def oauth2_login(conn: poplib.POP3, entry: GatewayEntry, port: int, access_token: str) -> None:
    """AUTH XOAUTH2 (or OAUTHBEARER, if that is all CAPA offers) with an initial response;
    a refusal may come as a "+ <json>" challenge, answered with an empty line, then -ERR."""
    try:
        offered = set(conn.capa().get("SASL", []))
    except poplib.error_proto:  # no CAPA
        offered = set()
    if mechanism(offered) == "OAUTHBEARER":
        blob = oauthbearer(entry.username, access_token, entry.host, port)
        command = "AUTH OAUTHBEARER " + base64.b64encode(blob.encode()).decode()
    else:
        command = "AUTH XOAUTH2 " + xoauth2_b64(entry.username, access_token)
    resp = conn._shortcmd(command)
    if not resp.startswith(b"+OK"):
        conn._putcmd("")
        conn._getresp()  # raises error_proto with the server's -ERR


def content_uidl(data: bytes) -> str:
    return "sha256-" + hashlib.sha256(data).hexdigest()


class Pop3Mailbox:
    def __init__(
        self,
        entry: GatewayEntry,
        password: str,
        *,
        ca_file: str | None = None,
        timeout: float = 30,
        conn: poplib.POP3 | None = None,
    ) -> None:
        self.entry = entry
        if conn is not None:  # injected (unit tests of the UIDL fallback)
            self.conn = conn
        else:
            ctx = tls_context(entry, ca_file)
            port = entry.port or (995 if entry.security == "tls" else 110)
            if entry.security == "tls":
                self.conn = poplib.POP3_SSL(entry.host, port, timeout=timeout, context=ctx)
            else:
                self.conn = poplib.POP3(entry.host, port, timeout=timeout)
        try:
            if conn is None:
                if entry.security == "starttls":
                    self.conn.stls(context=ctx)
                if entry.auth == "oauth2":
                    oauth2_login(self.conn, entry, port, password)
                else:
                    self.conn.user(entry.username)
                    self.conn.pass_(password)
        except BaseException:
            self.abort()
            raise

    def stat(self) -> int:
        count, _size = self.conn.stat()
        return int(count)

    def listing(self) -> list[Pop3Item]:
        """Every message with its UIDL; without UIDL support, its content hash (RETR)."""
        try:
            _resp, lines, _ = self.conn.uidl()
        except poplib.error_proto:
            return [
                Pop3Item(number=n, uidl=content_uidl(data), data=data)
                for n in range(1, self.stat() + 1)
                for data in [self.retr(n)]
            ]
        items = []
        for line in lines:
            num, _, uidl = line.decode("ascii", "replace").partition(" ")
            items.append(Pop3Item(number=int(num), uidl=uidl.strip()))
        return items

    def retr(self, number: int) -> bytes:
        _resp, lines, _octets = self.conn.retr(number)
        return b"\r\n".join(lines) + b"\r\n"

    def delete(self, number: int) -> None:
        self.conn.dele(number)

    def quit(self) -> None:
        """Ends the transaction: the server applies DELE (and may set \\Seen) only now."""
        self.conn.quit()

    def abort(self) -> None:
        """Drop the connection without QUIT: the server changes nothing."""
        with contextlib.suppress(Exception):
            self.conn.close()
