"""The fetcher's CPU shortcuts give exactly what the general code gives."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

from kernel.blobs import BlobStore
from schemas import codec
from schemas.events import GatewaySnapshot, MailSource, RawEmail
from schemas.raw import make_raw_email
from services.fetcher import imap_fetch
from services.fetcher.imap import quiet_imaplib
from services.fetcher.imap_fetch import parse_bodies, parse_sizes
from services.fetcher.publisher import chunks, raw_json

BODY = b"From: a@example.org\r\n\r\n(not a paren) {5}\r\n" + bytes(range(256))


def _body_response(uid: int, body: bytes) -> list[object]:
    """What imaplib keeps of ``* n FETCH (UID u BODY[] {size}`` + literal + ``)``."""
    return [(f"{uid + 100} (UID {uid} BODY[] {{{len(body)}}}".encode(), body), b")"]


def test_bodies_fast_path_reads_what_imapclient_reads() -> None:
    data = _body_response(7, BODY) + _body_response(9, b"")
    fast = parse_bodies(data)
    slow = parse_fetch_response(data, True, True)
    assert fast == {7: BODY, 9: b""}
    assert fast == {uid: d[b"BODY[]"] for uid, d in slow.items()}


@pytest.mark.parametrize(
    "data",
    [
        # another item order (some servers answer BODY[] before UID)
        [(b"1 (BODY[] {3}", b"abc"), b" UID 5)"],
        # an unsolicited flag change among the answers
        _body_response(5, b"abc") + [b"2 (FLAGS (\\Seen))"],
        # a FLAGS item next to the body
        [(b"1 (UID 5 FLAGS (\\Seen) BODY[] {3}", b"abc"), b")"],
        # NIL or a quoted body instead of a literal
        [b'1 (UID 5 BODY[] "abc")'],
        [b"1 (UID 5 BODY[] NIL)"],
    ],
)
def test_bodies_any_other_shape_is_left_to_imapclient(data: list[object]) -> None:
    assert parse_bodies(data) is None


def test_sizes_fast_path_and_its_limits() -> None:
    data = [b"1 (UID 10 RFC822.SIZE 9274)", b"2 (UID 11 RFC822.SIZE 0)"]
    assert parse_sizes(data) == {10: 9274, 11: 0}
    assert parse_sizes(data) == {
        u: d[b"RFC822.SIZE"] for u, d in parse_fetch_response(data, True, True).items()
    }
    assert parse_sizes([b"1 (RFC822.SIZE 9274 UID 10)"]) is None
    assert parse_sizes([b"1 (UID 10 RFC822.SIZE 9274 FLAGS ())"]) is None
    assert parse_sizes([(b"1 (UID 10 RFC822.SIZE {1}", b"9"), b")"]) is None


class _FakeImap:
    """Just enough of imaplib.IMAP4 for imap_fetch.uid_fetch."""

    def __init__(self, untagged: list[object]) -> None:
        self.untagged = untagged
        self.sent: tuple[object, ...] = ()

    def _command(self, *args: object) -> str:
        self.sent = args
        return "A001"

    def _command_complete(self, name: str, tag: str) -> tuple[str, list[bytes]]:
        return "OK", [b"done"]

    def _untagged_response(self, typ: str, dat: object, name: str) -> tuple[str, list[object]]:
        return typ, self.untagged


def _client(untagged: list[object]) -> IMAPClient:
    fake = SimpleNamespace(
        _imap=_FakeImap(untagged), normalise_times=True, _checkok=lambda *a: None
    )
    return fake  # type: ignore[return-value]


def test_fetch_bodies_falls_back_and_keeps_only_what_was_asked() -> None:
    odd = [(b"1 (BODY[] {3}", b"abc"), b" UID 5)", (b"2 (UID 6 BODY[] {2}", b"de"), b")"]
    odd += [b"3 (UID 99 FLAGS (\\Seen))", b"4 (UID 7 BODY[] NIL)"]
    client = _client(odd)
    assert imap_fetch.fetch_bodies(client, [5, 6, 7]) == {5: b"abc", 6: b"de"}
    assert client._imap.sent == ("UID", "FETCH", b"5,6,7", "(BODY.PEEK[])")
    fast = _client(_body_response(5, b"abc") + _body_response(99, b"x"))
    assert imap_fetch.fetch_bodies(fast, [5]) == {5: b"abc"}
    assert imap_fetch.fetch_bodies(_client([]), [5]) == {}


def test_fetch_sizes_falls_back_to_imapclient() -> None:
    client = _client([b"1 (RFC822.SIZE 30 UID 5)", b"2 (UID 6 RFC822.SIZE 40)"])
    assert imap_fetch.fetch_sizes(client, [5, 6]) == {5: 30, 6: 40}
    assert client._imap.sent == ("UID", "FETCH", b"5,6", "(RFC822.SIZE)")


def test_raw_json_is_the_same_event_as_codec_dumps(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    raw = make_raw_email(
        gateway_id="g1",
        gateway=GatewaySnapshot(address="support@company.net", department_id=3),
        source=MailSource(protocol="imap", uidvalidity=1, uid=4),
        data=BODY * 50,
        blobs=blobs,
        inline_limit=1 << 20,
    )
    fast = raw_json(raw)
    assert json.loads(fast) == json.loads(codec.dumps(raw))
    assert RawEmail.model_validate_json(fast) == raw
    # Not strict base64 (line breaks), or a claim check: the general serializer.
    wrapped = raw.model_copy(update={"raw_b64": base64.encodebytes(BODY).decode()})
    assert raw_json(wrapped) == codec.dumps(wrapped)
    claim = raw.model_copy(update={"raw_b64": None, "blob_ref": "sha256:" + "0" * 64})
    assert raw_json(claim) == codec.dumps(claim)


def test_first_chunk_is_smaller_then_full_batches() -> None:
    sizes = list(chunks(list(range(50)), lambda _: 1, 20, 1000, first_n=5))
    assert [len(b) for b in sizes] == [5, 20, 20, 5]
    assert sum(sizes, []) == list(range(50))
    assert [len(b) for b in chunks(list(range(50)), lambda _: 1, 20, 1000)] == [20, 20, 10]
    # the byte bound still holds for the first batch
    assert [len(b) for b in chunks([1, 1, 1], lambda x: x, 20, 2, first_n=5)] == [2, 1]


def test_imaplib_is_quiet_unless_its_logger_is_on() -> None:
    client = SimpleNamespace(_imap=SimpleNamespace(debug=5))
    quiet_imaplib(client)  # type: ignore[arg-type]
    assert client._imap.debug == 0
    logger = logging.getLogger("imapclient.imaplib")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        client._imap.debug = 5
        quiet_imaplib(client)  # type: ignore[arg-type]
        assert client._imap.debug == 5
    finally:
        logger.setLevel(old)
