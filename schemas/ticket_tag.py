"""Ticket ids and the tag in mail subjects that threads a client's reply back.

A ticket id is ten base32 characters (50 bits). Tickets opened from mail get an
id derived from the email id with a keyed hash, so a redelivered or replayed
email names the same ticket; tickets opened in the web get a random one. The
tag alone never grants access: the router also requires the sender to be the
ticket's client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TAG_RE = re.compile(r"\[#([A-Z2-7]{10})\]")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode()[:10]


def ticket_id_for_email(email_id: str, key: bytes) -> str:
    return _b32(hmac.new(key, email_id.encode(), hashlib.sha256).digest())


def new_ticket_id() -> str:
    return _b32(secrets.token_bytes(8))


def format_tag(ticket_id: str) -> str:
    return f"[#{ticket_id}]"


def tagged_subject(subject: str, ticket_id: str) -> str:
    tag = format_tag(ticket_id)
    return subject if tag in subject else f"{subject} {tag}".strip()


def find_ticket_ids(subject: str) -> list[str]:
    return TAG_RE.findall(subject or "")
