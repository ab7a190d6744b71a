"""Tickets: a new one (the web's in `ticket_requests`, mail's in `mail_commands`), status
changes, assigning, and the ticket events every such change publishes.

May import: `unit_of_work`, `domain`, `queries`, the store's models, `schemas`,
`actions.events`.
"""

from __future__ import annotations

from services.ticket_store.actions.events import (
    assigned,
    message_added,
    status_changed,
    ticket_opened,
)
from services.ticket_store.domain.status import CLOSED_STATUSES, checked_transition
from services.ticket_store.models import (
    Message,
    Staff,
    Ticket,
    TicketStatus,
    utcnow,
)
from services.ticket_store.unit_of_work import UnitOfWork


def emit_message_added(uow: UnitOfWork, ticket: Ticket, msg: Message) -> None:
    uow.ticket_event(ticket, message_added(ticket, msg))


def set_status(uow: UnitOfWork, ticket: Ticket, new: str) -> bool:
    """Move the ticket (no check: mail and replies move tickets too); False if it is there."""
    old = ticket.status
    if old == new:
        return False
    ticket.status = new
    ticket.closed_at = utcnow() if new in CLOSED_STATUSES else None
    uow.ticket_event(ticket, status_changed(ticket, old, new))
    uow.audit("ticket.status", "ticket", ticket.number, old=old, new=new)
    return True


def client_answer(uow: UnitOfWork, ticket: Ticket, msg: Message) -> None:
    """The client answered, by mail, from the web or by staff's hand (an incoming email):
    the message joins the ticket, which is back with staff (reopened if it was closed)."""
    ticket.messages.append(msg)
    ticket.updated_at = utcnow()
    uow.flush()
    emit_message_added(uow, ticket, msg)
    if ticket.status != TicketStatus.NEW:
        set_status(uow, ticket, TicketStatus.IN_PROGRESS)


def change_status(uow: UnitOfWork, ticket: Ticket, new: str) -> Ticket:
    """A person's status change, checked against TRANSITIONS."""
    target = checked_transition(ticket.status, new)
    if ticket.status != target:
        set_status(uow, ticket, target)
    return ticket


def assign_to_me(uow: UnitOfWork, staff: Staff, ticket: Ticket) -> Ticket:
    """ "Assign ticket to me": a new ticket is then in progress."""
    previous = ticket.assigned_staff_id
    ticket.assigned_staff_id = staff.id
    if previous != staff.id:
        uow.ticket_event(ticket, assigned(ticket, previous))
    if ticket.status == TicketStatus.NEW:
        set_status(uow, ticket, TicketStatus.IN_PROGRESS)
    uow.audit("ticket.assign", "ticket", ticket.number, staff=staff.id)
    return ticket


def new_ticket(
    uow: UnitOfWork,
    *,
    ticket_id: str,
    department_id: int,
    client_id: int,
    subject: str,
    reply_to: str,
    first: Message,
    source_email_id: str | None = None,
    charged: bool = False,
) -> Ticket:
    """A new ticket with its first message, and TicketOpened and MessageAdded for it."""
    ticket = Ticket(
        id=ticket_id,
        department_id=department_id,
        client_id=client_id,
        subject=subject,
        reply_to=reply_to,
        source_email_id=source_email_id,
        charged=charged,
        status=TicketStatus.NEW.value,
    )
    ticket.messages.append(first)
    uow.session.add(ticket)
    uow.flush()
    uow.ticket_event(ticket, ticket_opened(ticket, source_email_id))
    emit_message_added(uow, ticket, first)
    return ticket
