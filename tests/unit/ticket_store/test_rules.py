"""Pure rules of the store: placeholders, status transitions, safe attachment types, passwords."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ticket_store.api.attachments import safe_content_type
from services.ticket_store.auth import hash_password, token_hash, verify_password
from services.ticket_store.domain.replies import fill_placeholders
from services.ticket_store.domain.status import TRANSITIONS
from services.ticket_store.models import TicketStatus


def test_known_placeholders_are_filled_unknown_left_alone() -> None:
    values = {"client_name": "Alice", "ticket_number": "7"}
    assert fill_placeholders("Dear {client_name}, #{ticket_number} {x}", values) == (
        "Dear Alice, #7 {x}"
    )


@given(st.text())
def test_filling_never_fails_and_is_identity_without_placeholders(text: str) -> None:
    assert fill_placeholders(text, {}) == text


def test_placeholder_values_are_not_expanded_again() -> None:
    """A client named "{staff_name}" must not pull other values into the text."""
    out = fill_placeholders("{client_name}", {"client_name": "{staff_name}", "staff_name": "John"})
    assert out == "{staff_name}"


def test_every_status_has_transitions_and_archived_only_reopens() -> None:
    assert set(TRANSITIONS) == set(TicketStatus)
    assert TRANSITIONS[TicketStatus.ARCHIVED] == {TicketStatus.IN_PROGRESS}
    assert TicketStatus.ARCHIVED in TRANSITIONS[TicketStatus.CLOSED]
    for status, targets in TRANSITIONS.items():
        assert status not in targets
        assert TicketStatus.NEW not in targets  # nothing goes back to new


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/javascript", "application/octet-stream"),
        ("IMAGE/PNG; name=x.png", "image/png"),
        ("application/pdf", "application/pdf"),
        ("", "application/octet-stream"),
    ],
)
def test_only_inert_types_are_served_as_themselves(declared: str, served: str) -> None:
    assert safe_content_type(declared) == served


def test_passwords_hash_with_argon2_and_verify() -> None:
    h = hash_password("long enough password")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "long enough password")
    assert not verify_password(h, "wrong password!")
    assert not verify_password("", "anything at all")
    assert not verify_password("not-a-hash", "anything at all")
    with pytest.raises(ValueError):
        hash_password("short")


def test_token_hash_is_sha256_hex() -> None:
    assert len(token_hash("secret")) == 64 and token_hash("secret") != token_hash("secret2")


@pytest.mark.parametrize(
    ("stored", "header"),
    [
        ("first@example.org", "<first@example.org>"),  # the router stores ids bare
        ("<first@example.org>", "<first@example.org>"),
        ("", ""),
        ("two words@x", ""),
    ],
)
def test_reply_headers_get_message_ids_in_angle_brackets(stored: str, header: str) -> None:
    from services.ticket_store.domain.mail_headers import msg_id

    assert msg_id(stored) == header
