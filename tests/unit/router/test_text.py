"""Text that survives: no NUL or XML-refused character leaves the router; charsets fall back
declared -> detected -> cp1252 -> latin-1; a display name alone is never an address."""

from __future__ import annotations

import json

import pytest

from services.router.mail import parse
from services.router.pipeline import Router
from services.router.text import decode_bytes, decode_words, safe_text
from tests.unit.router.helpers import KEY, build, directory, raw_event, route_and_settle

REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ufffe", "\uffff"]


def route(data: bytes, clients: dict[str, int] | None = None) -> list:
    router = Router(directory(clients=clients), KEY)
    final = route_and_settle(router, raw_event(data).model_dump_json().encode())
    return final


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_clean(outs: list) -> None:
    for o in outs:
        for text in strings(json.loads(o.value())):
            assert not any(c in text for c in REFUSED), (o.topic, text[:100])


def test_safe_text() -> None:
    assert safe_text("a\x00b\x01c\td\ne\rf\ufffeg\ud800h") == "abc\td\ne\rfgh"
    assert safe_text("plain") == "plain"


NUL_MAIL = (
    b"From: Al\x00ice <alice@example.com>\r\nTo: support@company.net\r\n"
    b"Subject: Hel\x00lo =?utf-8?q?w=00orld=01?=\r\nMessage-ID: <n\x00ul@example.com>\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody\x00 with NUL\x1b and ESC\r\n"
    b"--B\r\nContent-Type: text/html\r\n\r\n<p>h&#0;tml&#1;\x00</p>\r\n"
    b'--B\r\nContent-Type: application/pdf; name="f\x00ile.pdf"\r\n\r\nPDF\r\n--B--\r\n'
)


def test_nul_mail_becomes_a_ticket_without_nul() -> None:
    outs = route(NUL_MAIL)
    assert outs[-1].event.decision.value == "ticket_opened"
    assert_clean(outs)
    ticket = json.loads(next(o for o in outs if o.topic == "ticket_commands").value())
    assert ticket["content"]["text"].startswith("Body with NUL and ESC")
    assert ticket["content"]["subject"] == "Hello world"
    assert ticket["content"]["from_name"] == "Alice"


@pytest.mark.parametrize("clients", [{}, None])
def test_nul_mail_to_incoming_and_reasons_are_clean(clients: dict | None) -> None:
    data = NUL_MAIL.replace(b"To: support", b"Auto-Submitted: auto-replied\x00\x02\r\nTo: support")
    outs = route(data, clients)
    assert {o.topic for o in outs} == {"incoming", "outcomes"}
    assert_clean(outs)


def test_undecodable_record_reason_is_clean() -> None:
    outs = Router(directory(), KEY).handle_raw(
        b"gw\x00", b'{"email_id": "x\\u0000y", "junk\x00": 1}'
    )
    assert [o.topic for o in outs] == ["dead", "outcomes"]
    assert_clean(outs)


def body(charset: str, data: bytes) -> bytes:
    head = "From: a@example.com\r\nTo: support@company.net\r\nSubject: x\r\n"
    if charset:
        head += f"Content-Type: text/plain; charset={charset}\r\n"
    return (head + "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + data + b"\r\n"


CHARSETS = [
    ("unknown label, Latin-1 bytes", "x-nonsense", "Hola, tendrás que esperar", "latin-1"),
    ("UTF-8 label, cp1252 bytes", "utf-8", "Grüße, ‚Köln‘ – tendrás", "cp1252"),
    ("ASCII label, UTF-8 bytes", "us-ascii", "naïve café", "utf-8"),
    ("Latin-1 label, UTF-8 bytes", "iso-8859-1", "Dobrý den, žluťoučký kůň", "utf-8"),
    ("no label, cp1252 bytes", "", "Saludos, tendrás", "cp1252"),
    ("unknown label, cp1251 bytes", "x-cyr", "Здравствуйте, мой сервер не работает", "cp1251"),
    ("unknown label, KOI8-R bytes", "x-cyr", "Здравствуйте, как дела у вас сегодня", "koi8-r"),
]


@pytest.mark.parametrize(("name", "label", "text", "enc"), CHARSETS, ids=[c[0] for c in CHARSETS])
def test_body_charset_fallbacks(name: str, label: str, text: str, enc: str) -> None:
    assert parse(body(label, text.encode(enc))).text.strip() == text


def test_replacement_only_for_damaged_utf8() -> None:
    data = "Ünïcödé text, ünïcödé text, cut: ".encode() + "é".encode()[:1]
    assert decode_bytes(data, "utf-8") == "Ünïcödé text, ünïcödé text, cut: \ufffd"
    assert "\ufffd" not in decode_bytes(b"\x81\x8d\x8f\x90\x9d", "utf-8")  # a single-byte reading


HEADERS = [
    (b"Subject: tendr\xe1s", "tendrás"),  # raw Latin-1 in a header
    (b"Subject: tendr\xc3\xa1s", "tendrás"),  # raw UTF-8 in a header
    (b"Subject: =?x-unknown?q?tendr=E1s?=", "tendrás"),
    (b"Subject: =?utf-8?q?tendr=E1s?=", "tendrás"),  # mislabelled encoded word
    (b"Subject: =?iso-8859-1?q?tendr=C3=A1s?=", "tendrás"),
]


@pytest.mark.parametrize(("header", "expected"), HEADERS)
def test_header_charset_fallbacks(header: bytes, expected: str) -> None:
    data = b"From: a@example.com\r\nTo: support@company.net\r\n" + header + b"\r\n\r\nx\r\n"
    assert parse(data).subject == expected


def test_decode_words_joins_split_characters() -> None:
    # "é" split across two encoded words of one charset
    assert decode_words("=?utf-8?b?w6k=?=") == "é"
    assert decode_words("=?utf-8?q?=C3?= =?utf-8?q?=A9t=C3=A9?= end") == "été end"
    assert decode_words("plain =?bogus") == "plain =?bogus"


DISPLAY_ONLY = ["Alice Example", '"Alice Example"', "Alice Example <>", "alice", "<alice>"]


@pytest.mark.parametrize("frm", DISPLAY_ONLY)
def test_display_name_alone_is_not_an_address(frm: str) -> None:
    data = build(f"From: {frm}\nTo: support@company.net\nSubject: Help")
    mail = parse(data)
    assert mail.from_address == "" and "no usable address" in mail.from_problem
    outs = route(data, {"alice example": 1, "alice": 2})
    assert [o.topic for o in outs] == ["incoming", "outcomes"]
    outcome = outs[-1].event
    assert outcome.decision.value == "incoming" and "From has no usable address" in outcome.reason
    assert outs[0].event.content.from_address == ""


def test_refused_characters_in_a_part_type_stay_out_of_the_ticket() -> None:
    """The OpenTicket travels through the ledger already serialised: clean before that."""
    data = (
        b"From: alice@example.com\r\nTo: support@company.net\r\nSubject: x\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n\r\ntext\r\n'
        b'--B\r\nContent-Type: application/x-\x00bin\x01; name="a.bin"\r\n\r\nAAAA\r\n--B--\r\n'
    )
    outs = route(data)
    assert outs[-1].event.decision.value == "ticket_opened"
    assert_clean(outs)
