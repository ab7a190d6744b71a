"""Text as the store keeps it, and what typed input may hold: one plain address,
one-line names, no NUL."""

from __future__ import annotations

import pytest

from services.ticket_store.domain.text import (
    clean_text,
    normalise_email,
    one_line,
    plain_address,
    sanitise_html,
)


def test_addresses_compare_case_insensitively_without_spaces() -> None:
    assert normalise_email("  Alice@Example.ORG\n") == "alice@example.org"


def test_mail_html_loses_scripts_and_handlers_but_keeps_text() -> None:
    cleaned = sanitise_html('<p onclick="steal()">please <b>help</b><script>alert(1)</script></p>')
    assert "script" not in cleaned and "onclick" not in cleaned
    assert "<b>help</b>" in cleaned and "please" in cleaned
    assert sanitise_html("") == ""


@pytest.mark.parametrize(
    "value",
    [
        "a@b.c\r\nBcc: x@y.z",
        "Alice <a@b.c>",
        "a@b.c, d@e.f",
        "a@b.c;d@e.f",
        "a b@c.d",
        "a@b@c",
        "@b.c",
        "a@",
        "",
        "a\x00@b.c",
        "x" * 65 + "@b.c",
        "\ud800@b.c",
    ],
)
def test_anything_but_one_plain_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        plain_address(value)


def test_a_plain_address_is_kept_stripped() -> None:
    assert plain_address(" Alice.Smith+tag@Example.org ") == "Alice.Smith+tag@Example.org"


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "\x00", "a\x1bb", "a\x7f", "\udfff"])
def test_names_are_one_line_without_controls(value: str) -> None:
    with pytest.raises(ValueError):
        one_line(value)


def test_text_may_have_lines_but_no_nul() -> None:
    assert clean_text("line 1\r\nline 2\ttab") == "line 1\r\nline 2\ttab"
    assert one_line("Technical support – Ünïcode") == "Technical support – Ünïcode"
    for bad in ("a\x00b", "\ud800"):
        with pytest.raises(ValueError):
            clean_text(bad)
