from __future__ import annotations

from services.ticket_store.domain.text import normalise_email, sanitise_html


def test_addresses_compare_case_insensitively_without_spaces() -> None:
    assert normalise_email("  Alice@Example.ORG\n") == "alice@example.org"


def test_mail_html_loses_scripts_and_handlers_but_keeps_text() -> None:
    cleaned = sanitise_html('<p onclick="steal()">please <b>help</b><script>alert(1)</script></p>')
    assert "script" not in cleaned and "onclick" not in cleaned
    assert "<b>help</b>" in cleaned and "please" in cleaned
    assert sanitise_html("") == ""
