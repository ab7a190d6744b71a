"""The entries and events the actions publish, built from rows in one place.

Ticket events are built without their sequence, actor and cause: the unit of
work stamps those when it emits them (`UnitOfWork.ticket_event`).
May import: `schemas`, the store's models, `domain`. Emits nothing itself.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from schemas.events import (
    ClientEntry,
    DeliveryResult,
    DepartmentEntry,
    GatewayEntry,
    IncomingEmailAttached,
    IncomingEmailConverted,
    IncomingEmailDiscarded,
    MessageAdded,
    TicketAssigned,
    TicketOpened,
    TicketStatusChanged,
)
from services.ticket_store.domain.recipients import message_cc
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import (
    Client,
    Department,
    Gateway,
    IncomingEmail,
    Message,
    Ticket,
)


def event_id() -> str:
    return uuid.uuid4().hex


def department_entry(dep: Department) -> DepartmentEntry:
    return DepartmentEntry(
        department_id=dep.id,
        name=dep.name,
        per_incident=dep.per_incident,
        show_in_support_center=dep.show_in_support_center,
        insufficient_notice=dep.insufficient_notice,
    )


def client_entry(client: Client, address: str) -> ClientEntry:
    return ClientEntry(email=address, client_id=client.id, name=client.name)


def gateway_entry(gw: Gateway) -> GatewayEntry:
    """The directory entry fetchers and the router read; building it validates the gateway."""
    return GatewayEntry(
        gateway_id=gw.id,
        name=gw.name,
        type=gw.type,  # type: ignore[arg-type]
        protocol=gw.protocol,  # type: ignore[arg-type]
        host=gw.host,
        port=gw.port,
        security=gw.security,  # type: ignore[arg-type]
        verify_tls=gw.verify_tls,
        username=gw.username,
        password_encrypted=gw.password_encrypted,
        auth=gw.auth or "password",  # type: ignore[arg-type]
        folder=gw.folder,
        maildir_path=gw.maildir_path,
        address=normalise_email(gw.address),
        extra_addresses=tuple(normalise_email(a) for a in gw.extra_addresses or ()),
        department_id=gw.department_id,
        poll_interval_s=gw.poll_interval_s,
        after_fetch=gw.after_fetch,  # type: ignore[arg-type]
        enabled=gw.enabled,
    )


class TicketFacts(Protocol):
    """What a ticket event reads of a ticket: its row, or a plain copy of one (the
    consumer's bulk path, where an ORM object per event cost more than the event)."""

    id: str
    number: int
    department_id: int
    client_id: int
    subject: str


class MessageFacts(Protocol):
    """What MessageAdded reads of a message: its row, or a plain copy of one."""

    id: int
    direction: str
    source_email_id: str | None
    email_message_id: str


def ticket_opened(ticket: TicketFacts, source_email_id: str | None, **stamp: Any) -> TicketOpened:
    """`stamp`: sequence, actor and cause when the caller knows them (else the unit of
    work stamps the event when it emits it)."""
    return TicketOpened(
        event_id=event_id(),
        ticket_id=ticket.id,
        number=ticket.number,
        department_id=ticket.department_id,
        client_id=ticket.client_id,
        subject=ticket.subject,
        source_email_id=source_email_id,
        **stamp,
    )


def message_added(
    ticket: TicketFacts, msg: MessageFacts, cc: tuple[str, ...] | None = None, **stamp: Any
) -> MessageAdded:
    """`cc`: what the message adds to the ticket's Cc list, when the caller knows it (a
    plain copy must say; rows are looked up); `stamp` as for `ticket_opened`."""
    if cc is None:
        if not isinstance(ticket, Ticket) or not isinstance(msg, Message):
            raise TypeError("message_added on copies of rows needs their cc")
        cc = message_cc(ticket, msg)
    return MessageAdded(
        event_id=event_id(),
        ticket_id=ticket.id,
        message_id=msg.id,
        direction=msg.direction,  # type: ignore[arg-type]
        source_email_id=msg.source_email_id,
        email_message_id=msg.email_message_id,
        client_id=ticket.client_id,
        cc_addresses=cc,
        **stamp,
    )


def status_changed(ticket: Ticket, old: str, new: str) -> TicketStatusChanged:
    return TicketStatusChanged(
        event_id=event_id(), ticket_id=ticket.id, old_status=old, new_status=new
    )


def assigned(ticket: Ticket, previous_staff_id: int | None) -> TicketAssigned:
    return TicketAssigned(
        event_id=event_id(),
        ticket_id=ticket.id,
        staff_id=ticket.assigned_staff_id,
        previous_staff_id=previous_staff_id,
    )


def incoming_converted(
    ticket: Ticket, incoming: IncomingEmail, *, new_client: bool
) -> IncomingEmailConverted:
    return IncomingEmailConverted(
        event_id=event_id(),
        ticket_id=ticket.id,
        email_id=incoming.email_id,
        incoming_email_id=incoming.id,
        client_id=ticket.client_id,
        new_client=new_client,
    )


def incoming_attached(
    ticket: Ticket, incoming: IncomingEmail, msg: Message
) -> IncomingEmailAttached:
    return IncomingEmailAttached(
        event_id=event_id(),
        ticket_id=ticket.id,
        email_id=incoming.email_id,
        incoming_email_id=incoming.id,
        message_id=msg.id,
    )


def incoming_discarded_key(incoming: IncomingEmail) -> str:
    """The record key of an incoming email that became no ticket."""
    return f"incoming:{incoming.email_id}"


def incoming_discarded(incoming: IncomingEmail) -> IncomingEmailDiscarded:
    return IncomingEmailDiscarded(
        event_id=event_id(),
        email_id=incoming.email_id,
        incoming_email_id=incoming.id,
        department_id=incoming.department_id,
        status=incoming.status,  # type: ignore[arg-type]
    )


def delivery_result(ticket: Ticket, msg: Message) -> DeliveryResult:
    return DeliveryResult(
        event_id=event_id(),
        ticket_id=ticket.id,
        message_id=msg.id,
        outbound_id=msg.outbound_id or "",
        status=msg.delivery_status,  # type: ignore[arg-type]
        detail=msg.delivery_detail,
    )
