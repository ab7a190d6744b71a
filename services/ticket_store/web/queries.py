"""Read queries the web pages need and the service layer does not offer.

Every query here only reads; the permission rule (a staff member sees the
departments they work in, a client sees their own tickets) is part of the query,
so a page cannot forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import (
    Client,
    ClientEmail,
    Department,
    Gateway,
    IncidentGrant,
    IncomingEmail,
    PredefinedReply,
    Staff,
    Ticket,
)
from services.ticket_store.queries.replies import replies_for
from services.ticket_store.queries.staff import staff_department_ids

STAFF_STATUSES = ("new", "in_progress", "awaiting_client", "closed", "archived")
INCOMING_STATUSES = ("new", "converted", "deleted", "spam")
LIST_LIMIT = 200
PAGE_SIZE = 50  # rows per page of the Tickets and Incoming emails lists
SEARCH_MAX = 200  # the JSON API's max_length of ?q=


@dataclass(frozen=True)
class TicketRow:
    """One line of the staff Tickets section."""

    number: int
    subject: str
    client: str
    department: str
    status: str
    assignee: str
    updated_at: datetime


def ticket_search(q: str) -> ColumnElement[bool]:
    """What the JSON API's `GET /tickets?q=` matches: subject, client name or email, number, id."""
    text = q.strip()
    like = f"%{text.lower()}%"
    return or_(
        Ticket.subject.ilike(like),
        Ticket.client_id.in_(select(ClientEmail.client_id).where(ClientEmail.email.like(like))),
        Ticket.client_id.in_(select(Client.id).where(Client.name.ilike(like))),
        cast(Ticket.number, String) == text.lstrip("#"),
        Ticket.id == text.upper().strip("[#]"),
    )


def staff_tickets(
    session: Session,
    staff: Staff,
    status: str | None,
    *,
    q: str = "",
    offset: int = 0,
    limit: int = LIST_LIMIT,
) -> list[TicketRow]:
    """Tickets of the staff member's departments, most recently active first.

    `q` searches as the JSON API does; `offset`/`limit` page through the list.
    """
    assignee = aliased(Staff)
    query = (
        select(Ticket, Client.name, Department.name, assignee.name)
        .join(Client, Client.id == Ticket.client_id)
        .join(Department, Department.id == Ticket.department_id)
        .outerjoin(assignee, assignee.id == Ticket.assigned_staff_id)
        .where(Ticket.department_id.in_(staff_department_ids(staff)))
    )
    if status:
        query = query.where(Ticket.status == status)
    if q.strip():
        query = query.where(ticket_search(q))
    query = (
        query.order_by(Ticket.updated_at.desc(), Ticket.number.desc()).offset(offset).limit(limit)
    )
    return [
        TicketRow(
            number=t.number,
            subject=t.subject,
            client=client_name,
            department=dep_name,
            status=t.status,
            assignee=staff_name or "",
            updated_at=t.updated_at,
        )
        for t, client_name, dep_name, staff_name in session.execute(query)
    ]


@dataclass(frozen=True)
class Page:
    """Which slice of a list a page shows, from its `?page=` (1 = the newest)."""

    number: int

    @classmethod
    def of(cls, value: str) -> Page:
        text = value.strip()
        number = int(text) if text.isdigit() and 0 < int(text) <= 2**31 - 1 else 1
        return cls(number)

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE

    @property
    def limit(self) -> int:
        """One row more than shown, to know whether an older page exists."""
        return PAGE_SIZE + 1

    def links(self, path: str, more: bool, **filters: str) -> tuple[str, str]:
        """The "newer" and "older" links ("" when there is none), keeping the filters."""
        kept = {k: v for k, v in filters.items() if v}

        def url(number: int) -> str:
            params = kept | ({"page": str(number)} if number > 1 else {})
            return f"{path}?{urlencode(params)}" if params else path

        return (
            url(self.number - 1) if self.number > 1 else "",
            url(self.number + 1) if more else "",
        )


def support_departments(session: Session) -> list[Department]:
    """The departments marked "Show in the Support center"."""
    return list(
        session.scalars(
            select(Department)
            .where(Department.show_in_support_center.is_(True))
            .order_by(Department.id)
        )
    )


def client_tickets(session: Session, client: Client) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket).where(Ticket.client_id == client.id).order_by(Ticket.number.desc())
        )
    )


def incoming_for(
    session: Session, staff: Staff, status: str, *, offset: int = 0, limit: int = LIST_LIMIT
) -> list[IncomingEmail]:
    """Unknown senders' mail of the staff member's departments (as the JSON API lists it)."""
    return list(
        session.scalars(
            select(IncomingEmail)
            .where(
                IncomingEmail.department_id.in_(staff_department_ids(staff)),
                IncomingEmail.status == status,
            )
            .order_by(IncomingEmail.received_at.desc(), IncomingEmail.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def find_client(session: Session, ref: str) -> Client | None:
    """A client by a registered email address or by number, as staff type it in a form."""
    ref = ref.strip()
    if not ref:
        return None
    if ref.lstrip("#").isdigit():
        number = int(ref.lstrip("#"))
        return session.get(Client, number) if number < 2**31 else None
    entry = session.scalar(select(ClientEmail).where(ClientEmail.email == normalise_email(ref)))
    return session.get(Client, entry.client_id) if entry else None


def visible_replies(session: Session, staff: Staff) -> list[PredefinedReply]:
    """Administrators manage every reply (as in the admin API); others see those they may use."""
    if staff.is_admin:
        return list(session.scalars(select(PredefinedReply).order_by(PredefinedReply.id)))
    return replies_for(session, staff)


def names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    """Department and staff names by id, to label reply scopes."""
    deps = {i: name for i, name in session.execute(select(Department.id, Department.name))}
    staff = {i: name for i, name in session.execute(select(Staff.id, Staff.name))}
    return deps, staff


def all_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


def active_staff(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)))


def all_staff(session: Session) -> list[Staff]:
    """Every staff member, inactive ones too (the administrators' Staff list)."""
    return list(session.scalars(select(Staff).order_by(Staff.name, Staff.id)))


def all_gateways(session: Session) -> list[Gateway]:
    """Every mail gateway, by name (as the admin API lists them)."""
    return list(session.scalars(select(Gateway).order_by(Gateway.name)))


@dataclass(frozen=True)
class ClientRow:
    """One line of the administrators' Clients list."""

    id: int
    name: str
    emails: list[str]
    incidents_left: int


def clients_with_balance(session: Session, q: str = "") -> list[ClientRow]:
    """Clients (by name or address, as the admin API searches) with their incidents left.

    The balance is the service's rule (`incident_balance`: grants minus charged
    tickets), summed in two grouped queries instead of two queries per client.
    """
    query = select(Client).order_by(Client.id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            Client.name.ilike(like)
            | Client.id.in_(select(ClientEmail.client_id).where(ClientEmail.email.like(like)))
        )
    clients = list(session.scalars(query.limit(LIST_LIMIT)))
    ids = [c.id for c in clients]
    granted = dict(
        session.execute(
            select(IncidentGrant.client_id, func.sum(IncidentGrant.amount))
            .where(IncidentGrant.client_id.in_(ids))
            .group_by(IncidentGrant.client_id)
        ).all()
    )
    charged = dict(
        session.execute(
            select(Ticket.client_id, func.count())
            .where(Ticket.client_id.in_(ids), Ticket.charged.is_(True))
            .group_by(Ticket.client_id)
        ).all()
    )
    return [
        ClientRow(
            id=c.id,
            name=c.name,
            emails=[e.email for e in sorted(c.emails, key=lambda e: e.id)],
            incidents_left=int(granted.get(c.id) or 0) - int(charged.get(c.id) or 0),
        )
        for c in clients
    ]


def client_grants(session: Session, client_id: int) -> list[IncidentGrant]:
    """A client's incident ledger, oldest first (as the admin API shows it)."""
    return list(
        session.scalars(
            select(IncidentGrant)
            .where(IncidentGrant.client_id == client_id)
            .order_by(IncidentGrant.id)
        )
    )
