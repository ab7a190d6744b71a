"""Pure rules of the store outside `domain`: safe attachment types, passwords, tokens."""

from __future__ import annotations

import pytest

from services.ticket_store.api.attachments import safe_content_type
from services.ticket_store.auth import hash_password, token_hash, verify_password


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
