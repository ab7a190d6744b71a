"""Incoming emails (mail from unknown senders): staff turn one into a ticket of a
new or existing client, add it to a ticket, or discard it.

Staff chose to open these, so no incident is charged.
May import: `unit_of_work`, `domain`, the store's models, `schemas`,
`actions.clients`, `actions.events`, `actions.tickets`.
"""

from __future__ import annotations

from sqlalchemy import select

from schemas.ticket_tag import new_ticket_id
from services.ticket_store.actions.clients import add_client, add_client_email
from services.ticket_store.actions.events import (
    incoming_attached,
    incoming_converted,
    incoming_discarded,
    incoming_discarded_key,
)
from services.ticket_store.actions.tickets import client_answer, new_ticket
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import (
    Client,
    ClientEmail,
    IncomingEmail,
    Message,
    MessageAttachment,
    Staff,
    Ticket,
    utcnow,
)
from services.ticket_store.unit_of_work import UnitOfWork

DISCARD_STATUSES = ("deleted", "spam")


def _message_from_incoming(incoming: IncomingEmail, client_id: int) -> Message:
    msg = Message(
        direction="in",
        author_client_id=client_id,
        from_address=incoming.from_address,
        from_name=incoming.from_name,
        to_addresses=list(incoming.to_addresses or ()),
        cc_addresses=list(incoming.cc_addresses or ()),
        text=incoming.text,
        html=incoming.html,
        email_message_id=incoming.email_message_id,
        source_email_id=incoming.email_id,
    )
    msg.attachments = [
        MessageAttachment(
            filename=a.get("filename", "attachment"),
            content_type=a.get("content_type", "application/octet-stream"),
            size=int(a.get("size", 0)),
            blob_ref=a.get("blob_ref"),
        )
        for a in incoming.attachments or []
    ]
    return msg


def _take_incoming(incoming: IncomingEmail, staff: Staff, status: str) -> None:
    """One staff member handles an email once; a second try is a Conflict."""
    if incoming.status != "new":
        raise Conflict(f"this email was handled already ({incoming.status})")
    incoming.status = status
    incoming.handled_by_staff_id = staff.id
    incoming.handled_at = utcnow()


def convert_incoming(
    uow: UnitOfWork, staff: Staff, incoming: IncomingEmail, *, client_name: str | None = None
) -> Ticket:
    """A new client from the sender, and the mail as their ticket in the gateway's department.

    Staff chose to open it, so no incident is charged (an administrator can
    adjust the client's incidents).
    """
    address = normalise_email(incoming.from_address)
    _take_incoming(incoming, staff, "converted")
    if uow.session.scalar(select(ClientEmail).where(ClientEmail.email == address)):
        raise Conflict(f"{address} belongs to a client already: attach the email to that client")
    name = (client_name or incoming.from_name or address).strip()
    client = add_client(uow, name, [address])
    return _ticket_from_incoming(uow, incoming, client, new_client=True)


def attach_incoming_to_client(
    uow: UnitOfWork,
    staff: Staff,
    incoming: IncomingEmail,
    client_id: int,
    *,
    register_address: bool = False,
) -> Ticket:
    """The mail becomes a ticket of an existing client; optionally the sender's
    address is added to the client so later mail goes straight to Tickets."""
    client = uow.session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id}")
    _take_incoming(incoming, staff, "converted")
    if register_address:
        add_client_email(uow, client, incoming.from_address)
    return _ticket_from_incoming(uow, incoming, client, new_client=False)


def _ticket_from_incoming(
    uow: UnitOfWork, incoming: IncomingEmail, client: Client, *, new_client: bool
) -> Ticket:
    ticket = new_ticket(
        uow,
        ticket_id=new_ticket_id(),
        department_id=incoming.department_id,
        client_id=client.id,
        subject=incoming.subject or "(no subject)",
        reply_to=normalise_email(incoming.from_address),
        first=_message_from_incoming(incoming, client.id),
        source_email_id=incoming.email_id,
    )
    incoming.ticket_number = ticket.number
    uow.ticket_event(ticket, incoming_converted(ticket, incoming, new_client=new_client))
    uow.audit(
        "incoming.convert",
        "incoming_email",
        incoming.id,
        ticket=ticket.number,
        client=client.id,
    )
    return ticket


def attach_incoming_to_ticket(
    uow: UnitOfWork, staff: Staff, incoming: IncomingEmail, ticket: Ticket
) -> Message:
    """The mail joins an existing ticket as the client's message."""
    _take_incoming(incoming, staff, "converted")
    msg = _message_from_incoming(incoming, ticket.client_id)
    incoming.ticket_number = ticket.number
    client_answer(uow, ticket, msg)
    uow.ticket_event(ticket, incoming_attached(ticket, incoming, msg))
    uow.audit("incoming.attach", "incoming_email", incoming.id, ticket=ticket.number)
    return msg


def discard_incoming(
    uow: UnitOfWork, staff: Staff, incoming: IncomingEmail, status: str
) -> IncomingEmail:
    """Delete, or mark as spam; the row stays for the audit trail."""
    if status not in DISCARD_STATUSES:
        raise ValueError("status must be deleted or spam")
    _take_incoming(incoming, staff, status)
    # No ticket, so its own key; handled once, so its first and only event.
    event = uow.stamped(incoming_discarded(incoming), 1)
    uow.emit(uow.topics.ticket_events, incoming_discarded_key(incoming), event)
    uow.audit(f"incoming.{status}", "incoming_email", incoming.id)
    return incoming
