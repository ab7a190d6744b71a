"""Rule 1: any bytes in, a decision out; the parsed facts the other rules rely on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Decision
from services.router.mail import MalformedMail, normalise_address, parse
from services.router.rules import parse as parse_rule
from services.router.rules.base import Verdict
from tests.unit.router.helpers import build, context

MALFORMED = [
    (b"", "empty message"),
    (b"   \r\n\r\n", "empty message"),
    (b"\x00\x01\x02 binary junk", "no header fields"),
    (b"just a line of text without any header\r\n", "no header fields"),
]


@pytest.mark.parametrize(("data", "reason"), MALFORMED)
def test_unparseable_is_malformed(data: bytes, reason: str) -> None:
    verdict = parse_rule.read(data)
    assert isinstance(verdict, Verdict)
    assert verdict.decision is Decision.MALFORMED and verdict.reason == reason


def test_no_from_passes_the_parse_rule() -> None:
    """Bounces often lack a usable From; the automatic rule must still see them."""
    mail, ctx = context(build("To: support@company.net\nSubject: x"))
    assert mail.from_address == "" and parse_rule.check(mail, ctx) is None


FIELDS = [
    ("From: =?utf-8?b?w4FsaWNl?= <ALICE@Example.COM>", "from_address", "alice@example.com"),
    ("From: =?utf-8?b?w4FsaWNl?= <ALICE@Example.COM>", "from_name", "Álice"),
    ("Subject: =?koi8-r?b?8NLJ18XU?=", "subject", "Привет"),
    ("Subject: =?iso-2022-jp?b?GyRCJDMkcyRLJEEkTxsoQg==?=", "subject", "こんにちは"),
    ("Subject: a very\r\n long folded subject", "subject", "a very long folded subject"),
    ("Message-ID: <abc@x.example>", "message_id", "abc@x.example"),
    ("In-Reply-To: <a@x> (comment)", "in_reply_to", ["a@x"]),
    ("References: <a@x>\r\n <b@y>", "references", ["a@x", "b@y"]),
    ("Return-Path: <>", "return_path", ""),
    ("Return-Path: <Bounce@Example.com>", "return_path", "bounce@example.com"),
]


@pytest.mark.parametrize(("header", "field", "expected"), FIELDS)
def test_parsed_fields(header: str, field: str, expected: object) -> None:
    headers = "To: support@company.net\n" + header
    if not header.startswith("From:"):
        headers = "From: alice@example.com\n" + headers
    assert getattr(parse(build(headers)), field) == expected


CHARSETS = [
    ("windows-1250", "Dobrý den, žluťoučký kůň"),
    ("koi8-r", "Здравствуйте"),
    ("iso-2022-jp", "お世話になっております"),
    ("utf-8", "naïve café"),
]


@pytest.mark.parametrize(("charset", "text"), CHARSETS)
def test_body_charsets(charset: str, text: str) -> None:
    data = (
        (
            "From: a@example.com\r\nTo: support@company.net\r\nSubject: x\r\n"
            f"Content-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + text.encode(charset)
        + b"\r\n"
    )
    assert parse(data).text.strip() == text


def test_unknown_charset_does_not_raise() -> None:
    data = build(
        "From: a@example.com\nTo: support@company.net\n"
        "Content-Type: text/plain; charset=x-nonsense",
        "héllo",
    )
    assert "h" in parse(data).text


def test_raw_utf8_header_is_cleaned() -> None:
    data = "From: Zoë <zoe@x.org>\r\nTo: support@company.net\r\nSubject: café\r\n\r\nhi".encode()
    mail = parse(data)
    assert mail.subject == "café" and mail.from_name == "Zoë"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("A@B.C", "a@b.c"),
        ("<x@Y.org>", "x@y.org"),
        ("u@bücher.de", "u@xn--bcher-kva.de"),
        ("u@x.org.", "u@x.org"),
    ],
)
def test_normalise_address(raw: str, norm: str) -> None:
    assert normalise_address(raw) == norm


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_mail_or_a_malformed_verdict(data: bytes) -> None:
    got = parse_rule.read(data)
    assert isinstance(got, Verdict) or got.msg is not None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_arbitrary_headers_never_raise(to: str, subject: str) -> None:
    to = to.replace("\r", " ").replace("\n", " ")
    subject = subject.replace("\r", " ").replace("\n", " ")
    data = f"From: a@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nbody\r\n".encode(
        "utf-8", "surrogatepass"
    )
    try:
        mail = parse(data)
    except MalformedMail:
        return
    assert isinstance(mail.to_addresses, list)
    mail.subject.encode("utf-8")  # always valid UTF-8, so it serialises


def _attachment_mail(body: str, cte: str = "base64") -> bytes:
    return (
        "From: a@x.org\r\nTo: support@company.net\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        f"hi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: {cte}\r\n"
        f'Content-Disposition: attachment; filename="f.pdf"\r\n\r\n{body}\r\n--b--\r\n'
    ).encode()


def _stdlib_payload(data: bytes) -> bytes:
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.compat32).parsebytes(data)
    return msg.get_payload()[1].get_payload(decode=True)


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(min_size=3000, max_size=20_000),
    width=st.sampled_from([60, 76, 1000]),
    damage=st.sampled_from(["", "drop-padding", "junk", "truncate", "cte-space"]),
)
def test_attachment_bytes_are_what_the_stdlib_decodes(
    payload: bytes, width: int, damage: str
) -> None:
    """The SIMD fast path for base64 attachments gives exactly the stdlib's bytes, even for
    broken base64 (which falls back to the stdlib's lenient decoder)."""
    import base64

    text = base64.b64encode(payload).decode()
    if damage == "drop-padding":
        text = text.rstrip("=")
    elif damage == "junk":
        text = text[:100] + "!* " + text[100:]
    elif damage == "truncate":
        text = text[:-3]
    body = "\r\n".join(text[i : i + width] for i in range(0, len(text), width))
    data = _attachment_mail(body, "base64 " if damage == "cte-space" else "base64")
    mail = parse(data)
    assert [p.payload for p in mail.attachments] == [_stdlib_payload(data)]
    if not damage:
        assert mail.attachments[0].payload == payload
