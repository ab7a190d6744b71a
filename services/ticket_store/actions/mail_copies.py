"""Copies of one mail that reached several gateways: kept once.

A mail sent to two monitored addresses arrives once per gateway, each copy with
its own email id. A new ticket is opened once by the router (rule 7 keys the
charge by client and Message-ID), and the router files every copy under one
home gateway (services/router/gateways.py). A reply to a ticket and a mail from
an unknown sender do not pass rule 7, so their copies are dropped here: a
message with the same Message-ID already on the ticket, or an incoming email
with the same Message-ID, sender and gateway, is that mail already.

Mail without a Message-ID is never taken for a copy. The lookups have no index
of their own (email_message_id is not indexed): a reply looks among its ticket's
messages, an incoming email among incoming emails.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store.models import IncomingEmail, Message


def on_ticket(session: Session, ticket_number: int, message_id: str) -> bool:
    """The client's mail with this Message-ID is already a message of the ticket."""
    if not message_id:
        return False
    found = session.scalar(
        select(Message.id)
        .where(
            Message.ticket_number == ticket_number,
            Message.direction == "in",
            Message.email_message_id == message_id,
        )
        .limit(1)
    )
    return found is not None


def _key(event: IncomingEmailEvent) -> tuple[str, str, str]:
    return (event.content.message_id, event.content.from_address, event.gateway_id)


def new_incoming(
    session: Session, events: Sequence[IncomingEmailEvent]
) -> list[IncomingEmailEvent]:
    """The events that are not a copy of an incoming email stored or earlier in the batch
    (a redelivery of the same email id is left to the caller's own check)."""
    wanted = {e.content.message_id for e in events if e.content.message_id}
    seen: dict[tuple[str, str, str], str] = {}
    if wanted:
        rows = session.execute(
            select(
                IncomingEmail.email_message_id,
                IncomingEmail.from_address,
                IncomingEmail.gateway_id,
                IncomingEmail.email_id,
            ).where(IncomingEmail.email_message_id.in_(wanted))
        )
        seen = {(m, f, g): e for m, f, g, e in rows}
    out: list[IncomingEmailEvent] = []
    for event in events:
        key = _key(event)
        first = seen.get(key) if event.content.message_id else None
        if first is not None and first != event.email_id:
            continue
        if event.content.message_id:
            seen.setdefault(key, event.email_id)
        out.append(event)
    return out
