"""Lists of tickets: a staff member's (filtered, searched, paged) and a client's own.

The seed's rule is part of every query: staff see the tickets of the departments
they work in, a client only their own. `GET /api/v1/tickets` and the Tickets page
both list through `staff_tickets`, so they search alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from services.ticket_store.domain.errors import Forbidden
from services.ticket_store.models import Client, ClientEmail, Staff, Ticket
from services.ticket_store.queries.staff import staff_department_ids

STAFF_STATUSES = ("new", "in_progress", "awaiting_client", "closed", "archived")
SEARCH_MAX = 200  # the longest ?q= a list accepts


def ticket_search(q: str) -> ColumnElement[bool]:
    """What a search matches: subject, client name or email, number, or the ticket id."""
    text = q.strip()
    like = f"%{text.lower()}%"
    return or_(
        Ticket.subject.ilike(like),
        Ticket.client_id.in_(select(ClientEmail.client_id).where(ClientEmail.email.like(like))),
        Ticket.client_id.in_(select(Client.id).where(Client.name.ilike(like))),
        cast(Ticket.number, String) == text.lstrip("#"),
        Ticket.id == text.upper().strip("[#]"),
    )


@dataclass(frozen=True)
class TicketFilter:
    """Which of a staff member's tickets to list; empty fields do not filter."""

    statuses: tuple[str, ...] = ()
    department_id: int | None = None
    assigned: Literal["me", "nobody"] | None = None
    q: str = ""


def staff_tickets(
    session: Session,
    staff: Staff,
    filters: TicketFilter = TicketFilter(),
    *,
    offset: int = 0,
    limit: int = 100,
) -> list[Ticket]:
    """Tickets of the staff member's departments, most recently active first.

    A department filter naming a department they do not work in is Forbidden.
    """
    deps = staff_department_ids(staff)
    if filters.department_id is not None:
        if filters.department_id not in deps:
            raise Forbidden(f"you do not work in department {filters.department_id}")
        deps = {filters.department_id}
    query = select(Ticket).where(Ticket.department_id.in_(deps))
    if filters.statuses:
        query = query.where(Ticket.status.in_(filters.statuses))
    if filters.assigned == "me":
        query = query.where(Ticket.assigned_staff_id == staff.id)
    elif filters.assigned == "nobody":
        query = query.where(Ticket.assigned_staff_id.is_(None))
    if filters.q.strip():
        query = query.where(ticket_search(filters.q))
    query = query.order_by(Ticket.updated_at.desc(), Ticket.number.desc())
    return list(session.scalars(query.offset(offset).limit(limit)))


def client_tickets(session: Session, client: Client) -> list[Ticket]:
    """A client's own tickets, newest first."""
    return list(
        session.scalars(
            select(Ticket).where(Ticket.client_id == client.id).order_by(Ticket.number.desc())
        )
    )


def all_tickets(session: Session) -> list[Ticket]:
    """Every ticket by number, for administrators' tools (the CLI)."""
    return list(session.scalars(select(Ticket).order_by(Ticket.number)))
