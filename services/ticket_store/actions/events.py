"""The entries and events the actions publish, built from rows in one place.

May import: `schemas`, the store's models, `domain`. Emits nothing itself.
"""

from __future__ import annotations

import uuid

from schemas.events import (
    ClientEntry,
    DepartmentEntry,
    GatewayEntry,
    MessageAdded,
    TicketOpened,
    TicketStatusChanged,
)
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import Client, Department, Gateway, Message, Ticket


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
        folder=gw.folder,
        maildir_path=gw.maildir_path,
        address=normalise_email(gw.address),
        extra_addresses=tuple(normalise_email(a) for a in gw.extra_addresses or ()),
        department_id=gw.department_id,
        poll_interval_s=gw.poll_interval_s,
        after_fetch=gw.after_fetch,  # type: ignore[arg-type]
        enabled=gw.enabled,
    )


def ticket_opened(ticket: Ticket, source_email_id: str | None) -> TicketOpened:
    return TicketOpened(
        event_id=event_id(),
        ticket_id=ticket.id,
        number=ticket.number,
        department_id=ticket.department_id,
        client_id=ticket.client_id,
        subject=ticket.subject,
        source_email_id=source_email_id,
    )


def message_added(ticket: Ticket, msg: Message) -> MessageAdded:
    return MessageAdded(
        event_id=event_id(),
        ticket_id=ticket.id,
        message_id=msg.id,
        direction=msg.direction,  # type: ignore[arg-type]
        source_email_id=msg.source_email_id,
        email_message_id=msg.email_message_id,
        client_id=ticket.client_id,
    )


def status_changed(ticket: Ticket, old: str, new: str) -> TicketStatusChanged:
    return TicketStatusChanged(
        event_id=event_id(), ticket_id=ticket.id, old_status=old, new_status=new
    )
