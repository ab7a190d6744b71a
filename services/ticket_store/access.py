"""Who may see what: the one place that decides whether a staff member or a client may see
a ticket, an incoming email, an attachment or a pre-defined reply.

The seed's rule: staff work only in their own departments (John handles Technical only,
Gary Technical and Sales); administrators are no exception for tickets, since access
comes from department membership alone. A staff member asking for a ticket of another
department is told it exists but is not theirs (Forbidden, a 403); a client asking for
anyone else's ticket is told it does not exist (NotFound, a 404), so ticket numbers
reveal nothing. Every adapter (API, web, CLI) asks here and maps the errors its own way.

May import: SQLAlchemy, the store's models, `domain` and `queries`; never a web
framework or an adapter.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from services.ticket_store.domain.errors import Forbidden, NotFound
from services.ticket_store.models import (
    Client,
    IncomingEmail,
    MessageAttachment,
    PredefinedReply,
    Staff,
    Ticket,
)
from services.ticket_store.queries.directory import MAX_ID
from services.ticket_store.queries.staff import can_handle

ADMIN_ONLY = "this is for administrators only"
T = TypeVar("T")


def _get(session: Session, model: type[T], key: int) -> T | None:
    """A row by id; an id no row can have (too large, negative) is simply not found."""
    return session.get(model, key) if 0 <= key <= MAX_ID else None


def staff_ticket(session: Session, staff: Staff, number: int) -> Ticket:
    """The ticket, if this staff member works in its department."""
    ticket = _get(session, Ticket, number)
    if ticket is None:
        raise NotFound(f"ticket #{number}")
    if not can_handle(staff, ticket.department_id):
        raise Forbidden(f"ticket #{number} is in a department you do not work in")
    return ticket


def client_ticket(session: Session, client: Client, number: int) -> Ticket:
    """A client's own ticket; anyone else's does not exist as far as they can tell."""
    ticket = _get(session, Ticket, number)
    if ticket is None or ticket.client_id != client.id:
        raise NotFound(f"ticket #{number}")
    return ticket


def staff_incoming(session: Session, staff: Staff, incoming_id: int) -> IncomingEmail:
    """An incoming email, if it came in for a department this staff member works in."""
    row = _get(session, IncomingEmail, incoming_id)
    if row is None:
        raise NotFound(f"incoming email {incoming_id}")
    if not can_handle(staff, row.department_id):
        raise Forbidden("this email came in for a department you do not work in")
    return row


def incoming_attachment(
    session: Session, staff: Staff, incoming_id: int, index: int
) -> dict[str, object]:
    """One attachment (its stored description) of an incoming email the staff member may see."""
    items = staff_incoming(session, staff, incoming_id).attachments or []
    if not 0 <= index < len(items):
        raise NotFound(f"attachment {index} of incoming email {incoming_id}")
    return items[index]


def ticket_attachment(
    session: Session, who: Staff | Client, attachment_id: int
) -> MessageAttachment:
    """An attachment of a ticket: for staff of its department, or for the ticket's client
    (never one of an internal note)."""
    att = _get(session, MessageAttachment, attachment_id)
    ticket = session.get(Ticket, att.message.ticket_number) if att else None
    if att is None or ticket is None:
        raise NotFound(f"attachment {attachment_id}")
    if isinstance(who, Client):
        if ticket.client_id != who.id or att.message.direction == "note":
            raise NotFound(f"attachment {attachment_id}")
    elif not can_handle(who, ticket.department_id):
        raise Forbidden("this attachment is in a department you do not work in")
    return att


def require_admin(staff: Staff) -> Staff:
    """Administrators manage the directory, gateways and pre-defined replies."""
    if not staff.is_admin:
        raise Forbidden(ADMIN_ONLY)
    return staff


def managed_reply(session: Session, staff: Staff, reply_id: int) -> PredefinedReply:
    """A pre-defined reply to change or delete: administrators only, any reply."""
    require_admin(staff)
    reply = _get(session, PredefinedReply, reply_id)
    if reply is None:
        raise NotFound(f"pre-defined reply {reply_id}")
    return reply


def check_staff_change(
    admin: Staff, staff_id: int, *, active: bool | None, is_admin: bool | None
) -> None:
    """An administrator may not lock themselves out: no deactivating or demoting oneself."""
    if staff_id == admin.id and (active is False or is_admin is False):
        raise ValueError("you cannot deactivate yourself or drop your own admin rights")
