"""Messages in a ticket written by people: a staff reply (with its email on
mail.outbound), an internal note, a client's answer from the web.

May import: `unit_of_work`, `domain`, `queries`, the store's models, `schemas`,
`actions.tickets`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from schemas.events import Attachment, OutboundEmail
from services.ticket_store.actions.tickets import client_answer, emit_message_added, set_status
from services.ticket_store.domain.errors import Conflict
from services.ticket_store.domain.mail_headers import msg_id, new_message_id, reply_subject
from services.ticket_store.domain.recipients import from_cc, ticket_cc
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import (
    Client,
    Gateway,
    Message,
    MessageAttachment,
    Staff,
    Ticket,
    TicketStatus,
    utcnow,
)
from services.ticket_store.queries.clients import client_primary_email
from services.ticket_store.unit_of_work import UnitOfWork


def attachment_rows(attachments: Iterable[Attachment]) -> list[MessageAttachment]:
    return [
        MessageAttachment(
            filename=a.filename, content_type=a.content_type, size=a.size, blob_ref=a.blob_ref
        )
        for a in attachments
    ]


def _threading(ticket: Ticket) -> tuple[str, tuple[str, ...]]:
    """In-Reply-To (the client's newest mail) and References (the last 20 mails) of a reply."""
    inbound = [m for m in ticket.messages if m.direction == "in"]
    in_reply_to = next(
        (msg_id(m.email_message_id) for m in reversed(inbound) if msg_id(m.email_message_id)),
        "",
    )
    references = tuple(
        msg_id(m.email_message_id)
        for m in ticket.messages
        if msg_id(m.email_message_id) and m.direction in ("in", "out")
    )[-20:]
    return in_reply_to, references


def staff_reply(
    uow: UnitOfWork,
    staff: Staff,
    ticket: Ticket,
    text: str,
    *,
    message_id_domain: str,
    predefined_reply_id: int | None = None,
    attachments: Sequence[Attachment] = (),
    reply_all: bool = False,
) -> Message:
    """A reply to the client: a message, the email on the outbox, and its events.

    The Message-ID is fixed here, before sending, so the router can thread the
    client's answer by In-Reply-To as soon as MessageAdded is out. `reply_all`
    Cc's the ticket's Cc list (`domain.recipients`: never a gateway, never the client).
    """
    if not text.strip():
        raise ValueError("the reply is empty")
    session = uow.session
    client = session.get(Client, ticket.client_id)
    # The client's newest mail; a Cc'd person's mail never makes them the recipient.
    inbound = [m for m in ticket.messages if m.direction == "in" and not from_cc(m)]
    recipient = next((m.from_address for m in reversed(inbound) if m.from_address), "")
    recipient = normalise_email(recipient or ticket.reply_to or client_primary_email(client))
    if not recipient:
        raise Conflict("the client has no email address to reply to")
    outbound_id = uuid.uuid4().hex
    message_id = new_message_id(outbound_id, message_id_domain)
    in_reply_to, references = _threading(ticket)
    cc = tuple(a for a in ticket_cc(session, ticket) if a != recipient) if reply_all else ()
    msg = Message(
        direction="out",
        author_staff_id=staff.id,
        text=text,
        email_message_id=message_id,
        outbound_id=outbound_id,
        to_address=recipient,
        cc_addresses=list(cc),
        delivery_status="queued",
    )
    msg.attachments = attachment_rows(attachments)
    ticket.messages.append(msg)
    ticket.updated_at = utcnow()
    uow.flush()
    gateway = session.get(Gateway, ticket.gateway_id) if ticket.gateway_id else None
    outbound = OutboundEmail(
        outbound_id=outbound_id,
        to=recipient,
        from_address=gateway.address.lower() if gateway is not None else "",
        subject=reply_subject(ticket.subject or f"Ticket #{ticket.number}"),
        text=text,
        in_reply_to=in_reply_to,
        references=references,
        ticket_id=ticket.id,
        message_id=message_id,
        kind="staff_reply",
        attachments=tuple(attachments),
        cc=cc,
    )
    uow.emit(uow.topics.outbound, recipient, outbound)
    emit_message_added(uow, ticket, msg)
    set_status(uow, ticket, TicketStatus.AWAITING_CLIENT)
    uow.audit(
        "ticket.reply",
        "ticket",
        ticket.number,
        message=msg.id,
        predefined_reply=predefined_reply_id,
        **({"cc": list(cc)} if cc else {}),
    )
    return msg


def add_note(uow: UnitOfWork, staff: Staff, ticket: Ticket, text: str) -> Message:
    """An internal note: staff of the department see it, the client never does."""
    if not text.strip():
        raise ValueError("the note is empty")
    msg = Message(direction="note", author_staff_id=staff.id, text=text)
    ticket.messages.append(msg)
    uow.flush()
    emit_message_added(uow, ticket, msg)
    uow.audit("ticket.note", "ticket", ticket.number, message=msg.id)
    return msg


def client_message(
    uow: UnitOfWork,
    client: Client,
    ticket: Ticket,
    text: str,
    *,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """A client's answer from the web; it reopens a closed ticket, as a mail answer does."""
    if not text.strip():
        raise ValueError("the message is empty")
    msg = Message(direction="in", author_client_id=client.id, text=text)
    msg.attachments = attachment_rows(attachments)
    client_answer(uow, ticket, msg)
    return msg
