"""Rule 3: the gateway's address must be in To, compared as whole addresses, any case."""

from __future__ import annotations

import pytest

from schemas.events import Decision
from services.router.rules import recipient
from tests.unit.router.helpers import build, context

CASES = [
    # (To header(s), gateway address, extra accepted, accepted?)
    ("support@company.net", "support@company.NET", (), True),  # the seed's example
    ("support@company.com", "support@company.NET", (), False),  # the alias alone
    ("support@company.net, support@company.com", "support@company.NET", (), True),  # both
    ('"Support" <SUPPORT@Company.Net>', "support@company.NET", (), True),
    ("=?utf-8?q?S=C3=BCpport_Team?= <support@company.net>", "support@company.NET", (), True),
    ("=?iso-8859-1?b?U3VwcG9ydA==?= <Support@Company.Net>", "support@company.NET", (), True),
    ("support@company.net.evil.com", "support@company.NET", (), False),
    ("xsupport@company.net", "support@company.NET", (), False),
    ("support@company.netx", "support@company.NET", (), False),
    ('"support@company.net" <evil@example.com>', "support@company.NET", (), False),
    ("undisclosed-recipients:;", "support@company.NET", (), False),
    ("Team: a@example.com, support@company.net;", "support@company.NET", (), True),
    ("support@company.net (Support desk)", "support@company.NET", (), True),
    ('"support"@company.net', "support@company.NET", (), True),
    ("support@bücher.example", "support@xn--bcher-kva.example", (), True),
    ("support@xn--bcher-kva.example", "support@bücher.example", (), True),
    ("support@company.com", "support@company.NET", ("Support@Company.com",), True),
    ("sales@company.com", "support@company.NET", ("support@company.com",), False),
    ("a@example.com,\r\n support@company.net", "support@company.NET", (), True),  # folded
]


@pytest.mark.parametrize(("to", "gateway", "extra", "accepted"), CASES)
def test_to_header(to: str, gateway: str, extra: tuple[str, ...], accepted: bool) -> None:
    mail, ctx = context(
        build(f"From: alice@example.com\nTo: {to}\nSubject: x"), address=gateway, extra=extra
    )
    verdict = recipient.check(mail, ctx)
    if accepted:
        assert verdict is None
    else:
        assert verdict is not None and verdict.decision is Decision.IGNORED_RECIPIENT


HEADER_CASES = [
    # Only To counts: not Cc, Bcc, Delivered-To, X-Original-To, Resent-To.
    ("To: other@example.com\nCc: support@company.net", False),
    ("To: other@example.com\nBcc: support@company.net", False),
    ("To: other@example.com\nDelivered-To: support@company.net", False),
    ("To: other@example.com\nX-Original-To: support@company.net", False),
    ("Cc: support@company.net", False),  # no To at all
    ("To: other@example.com\nTo: support@company.net", True),  # repeated To headers
]


@pytest.mark.parametrize(("headers", "accepted"), HEADER_CASES)
def test_only_to_counts(headers: str, accepted: bool) -> None:
    mail, ctx = context(build(f"From: alice@example.com\n{headers}\nSubject: x"))
    assert (recipient.check(mail, ctx) is None) is accepted


def test_no_to_reason() -> None:
    mail, ctx = context(build("From: alice@example.com\nSubject: x"))
    verdict = recipient.check(mail, ctx)
    assert verdict is not None and verdict.reason == "no To address"
