"""UID FETCH of bodies and sizes without imapclient's general response parser.

imapclient tokenises every FETCH response byte by byte in Python, which was a
third of the fetcher's IMAP CPU. For the two fixed shapes the fetcher asks for
(UID with a BODY[] literal, UID with RFC822.SIZE) one regular expression per
mail reads the same thing. Any other shape (another server's item order, an
unsolicited FLAGS update, NIL or a quoted body) goes to imapclient's parser
unchanged, so the answer is the same either way, only slower.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.imapclient import join_message_ids
from imapclient.response_parser import parse_fetch_response

V = TypeVar("V")

_BODY = re.compile(rb"\d+ \(UID (\d+) BODY\[\] \{\d+\}\Z")
_SIZE = re.compile(rb"\d+ \(UID (\d+) RFC822\.SIZE (\d+)\)\Z")


def uid_fetch(client: IMAPClient, uids: Iterable[int], items: str) -> list[Any]:
    """Send ``UID FETCH <uids> (<items>)``; imaplib's untagged FETCH data, unparsed.

    The same calls as ``IMAPClient.fetch`` makes, minus its parsing.
    """
    imap = client._imap
    tag = imap._command("UID", "FETCH", join_message_ids(list(uids)), f"({items})")
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    _typ, data = imap._untagged_response(typ, data, "FETCH")
    return [] if data == [None] else data


def _parsed(client: IMAPClient, data: list[Any], uids: Iterable[int]) -> dict[int, Any]:
    """imapclient's own parse, with its filter to the messages asked for."""
    parsed = parse_fetch_response(data, client.normalise_times, True)
    return {u: parsed[u] for u in uids if u in parsed}


def parse_bodies(data: list[Any]) -> dict[int, bytes] | None:
    """UID -> BODY[] for ``* n FETCH (UID u BODY[] {size}`` + literal + ``)`` only; else None."""
    out: dict[int, bytes] = {}
    n = len(data)
    i = 0
    while i < n:
        item = data[i]
        if not isinstance(item, tuple) or i + 1 >= n or data[i + 1] != b")":
            return None
        m = _BODY.match(item[0])
        if m is None:
            return None
        out[int(m[1])] = item[1]
        i += 2
    return out


def parse_sizes(data: list[Any]) -> dict[int, int] | None:
    """UID -> RFC822.SIZE for ``* n FETCH (UID u RFC822.SIZE s)`` lines only; else None."""
    out: dict[int, int] = {}
    for item in data:
        if not isinstance(item, bytes):
            return None
        m = _SIZE.match(item)
        if m is None:
            return None
        out[int(m[1])] = int(m[2])
    return out


def _fetch(
    client: IMAPClient,
    uids: list[int],
    items: str,
    fast: Callable[[list[Any]], dict[int, V] | None],
    value: Callable[[Any], V | None],
) -> dict[int, V]:
    """UID -> value for each UID asked for that still exists: `fast` reads the expected
    shape, imapclient's parser (and `value` on its result) anything else."""
    data = uid_fetch(client, uids, items)
    got = fast(data)
    if got is None:
        got = {u: v for u, d in _parsed(client, data, uids).items() if (v := value(d)) is not None}
    wanted = set(uids)
    return {u: v for u, v in got.items() if u in wanted}


def _body(d: Any) -> bytes | None:
    body = d.get(b"BODY[]")
    return None if body is None else bytes(body)


def fetch_bodies(client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
    """BODY.PEEK[] of each UID that still exists (expunged ones are simply absent)."""
    return _fetch(client, uids, "BODY.PEEK[]", parse_bodies, _body)


def fetch_sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    return _fetch(client, uids, "RFC822.SIZE", parse_sizes, lambda d: int(d.get(b"RFC822.SIZE", 0)))
