"""Limits per mail (kernel.config.MailLimits): over one -> malformed naming it, a dead letter."""

from __future__ import annotations

import pytest

from kernel.config import MailLimits, Settings
from services.router.bounded import REGISTRY_MAX
from services.router.mail import parse
from services.router.pipeline import Router
from tests.unit.router.helpers import (
    KEY,
    build,
    cpu_seconds,
    directory,
    raw_event,
    route_and_settle,
    simple,
)
from tests.unit.router.hostile import encoded_subject, many_parts, many_to, nested

SMALL = MailLimits(
    header_block_bytes=4096,
    header_decoded_chars=1000,
    addresses_per_header=10,
    multipart_depth=5,
    parts_per_mail=20,
)


def route(data: bytes, limits: MailLimits = SMALL) -> list:
    """The outputs, the ledger stage included (a new ticket is settled there)."""
    router = Router(directory(), KEY, limits=limits)
    return route_and_settle(router, raw_event(data).model_dump_json().encode())


def test_defaults() -> None:
    assert MailLimits() == MailLimits(
        header_block_bytes=262144,
        header_decoded_chars=65536,
        addresses_per_header=1000,
        multipart_depth=50,
        parts_per_mail=2000,
    )


def test_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTDESK_MAIL_LIMITS__PARTS_PER_MAIL", "7")
    assert Settings().mail_limits.parts_per_mail == 7


OVER = [
    ("header block", simple(extra="X-Filler: " + "x" * 5000), "header_block_bytes"),
    ("header block, no blank line", b"X-A: b\r\n" * 1000, "header_block_bytes"),
    ("decoded subject", simple(subject="=?utf-8?q?" + "a" * 1500 + "?="), "header_decoded_chars"),
    ("plain subject", simple(subject="word " * 300), "header_decoded_chars"),
    ("From name", simple(frm="=?utf-8?q?" + "b" * 1500 + "?= <a@example.com>"), "header_decoded"),
    ("addresses", many_to(11), "addresses_per_header"),
    ("depth", nested(7), "multipart_depth"),
    ("parts", many_parts(21), "parts_per_mail"),
]


@pytest.mark.parametrize(("name", "data", "setting"), OVER, ids=[o[0] for o in OVER])
def test_over_a_limit_is_malformed_with_a_dead_letter(name: str, data: bytes, setting: str) -> None:
    outs = route(data)
    assert [o.topic for o in outs] == ["dead", "outcomes"]
    outcome = outs[1].event
    assert outcome.decision.value == "malformed" and setting in outcome.reason
    assert outs[0].event.reason == outcome.reason


def test_at_the_limits_passes() -> None:
    assert route(many_to(9))[-1].event.decision.value != "malformed"
    assert route(nested(5))[-1].event.decision.value == "ticket_opened"
    assert route(many_parts(19))[-1].event.decision.value == "ticket_opened"


@pytest.mark.parametrize("levels", [29, 31, 45, 50])
def test_deep_text_is_reached_up_to_the_depth_limit(levels: int) -> None:
    """Text below 30 levels used to be dropped, leaving the mail silently ignored_empty."""
    mail = parse(nested(levels, "the text at the bottom"))
    assert mail.text.strip() == "the text at the bottom"
    assert route(nested(levels), MailLimits())[-1].event.decision.value == "ticket_opened"


def test_over_the_depth_limit_is_never_ignored() -> None:
    outcome = route(nested(51), MailLimits())[-1].event
    assert outcome.decision.value == "malformed" and "multipart_depth" in outcome.reason


def test_long_headers_decode_without_the_registry() -> None:
    """Beyond REGISTRY_MAX the linear decoder gives the same text."""
    short = parse(encoded_subject(REGISTRY_MAX - 200)).subject
    long = parse(encoded_subject(4 * REGISTRY_MAX)).subject
    assert short.startswith("ünïcödé wörds ünïcödé") and long.startswith(short[:1000])
    assert len(long) > 2 * len(short) and "=?" not in long


def test_long_to_decodes_every_address() -> None:
    mail = parse(many_to(300))  # ~18 KB: the linear path
    assert len(mail.to_addresses) == 301 and mail.to_addresses[-1] == "user299@example.com"


def test_quadratic_regexes_are_gone() -> None:
    """Bodies and headers that made the old line-anchored patterns backtrack."""
    data = build(
        "From: " + "a" * 60_000 + "\nTo: support@company.net\nSubject: x", "\n" * 200_000 + "x"
    )
    spent, outs = cpu_seconds(lambda: route(data, MailLimits()), 1.0)
    assert spent < 1.0
    assert outs[-1].event.decision.value == "incoming"
    assert "From has no usable address" in outs[-1].event.reason


def test_huge_html_is_content_and_not_reduced_whole() -> None:
    """nh3 would need several times a 50 MB body; past HTML_SCAN the body counts as content."""
    from services.router.mail import HTML_SCAN

    html = "<div></div>" * (HTML_SCAN // 10) + "<p>the text</p>"
    data = build(
        "From: alice@example.com\nTo: support@company.net\nSubject: x\n"
        "Content-Type: text/html; charset=utf-8",
        html,
    )
    assert route(data, MailLimits())[-1].event.decision.value == "ticket_opened"
