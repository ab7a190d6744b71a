"""The directory as lists: departments, staff, clients (searched), their incident grants,
gateways, pre-defined replies and the audit log, in the order every adapter shows them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.models import (
    AuditEntry,
    Client,
    ClientEmail,
    Department,
    Gateway,
    IncidentGrant,
    PredefinedReply,
    Staff,
)
from services.ticket_store.queries.replies import replies_for

MAX_ID = 2**31 - 1  # the largest id a row can have; a larger one is simply not found


def all_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


def support_departments(session: Session) -> list[Department]:
    """The departments marked "Show in the Support center"."""
    return list(
        session.scalars(
            select(Department)
            .where(Department.show_in_support_center.is_(True))
            .order_by(Department.id)
        )
    )


def all_staff(session: Session, *, by_name: bool = False) -> list[Staff]:
    """Every staff member, inactive ones too (by id, or by name for a page)."""
    order = (Staff.name, Staff.id) if by_name else (Staff.id,)
    return list(session.scalars(select(Staff).order_by(*order)))


def active_staff(session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)))


def names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    """Department and staff names by id, to label ids on a page."""
    deps = {i: name for i, name in session.execute(select(Department.id, Department.name))}
    staff = {i: name for i, name in session.execute(select(Staff.id, Staff.name))}
    return deps, staff


def find_clients(
    session: Session, q: str = "", *, offset: int = 0, limit: int = 100
) -> list[Client]:
    """Clients by id; `q` finds them by name or by (part of) a registered address."""
    query = select(Client).order_by(Client.id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            Client.name.ilike(like)
            | Client.id.in_(select(ClientEmail.client_id).where(ClientEmail.email.like(like)))
        )
    return list(session.scalars(query.offset(offset).limit(limit)))


def find_client(session: Session, ref: str) -> Client | None:
    """A client by a registered email address or by number, as staff type it in a form."""
    ref = ref.strip()
    if not ref:
        return None
    if ref.lstrip("#").isdigit():
        number = int(ref.lstrip("#"))
        return session.get(Client, number) if number <= MAX_ID else None
    entry = session.scalar(select(ClientEmail).where(ClientEmail.email == ref.lower()))
    return session.get(Client, entry.client_id) if entry else None


def client_email(session: Session, client_id: int, address: str) -> ClientEmail | None:
    """The registered address `address` if it is one of this client's."""
    return session.scalar(
        select(ClientEmail).where(ClientEmail.email == address, ClientEmail.client_id == client_id)
    )


def client_grants(session: Session, client_id: int) -> list[IncidentGrant]:
    """A client's incident ledger, oldest first."""
    return list(
        session.scalars(
            select(IncidentGrant)
            .where(IncidentGrant.client_id == client_id)
            .order_by(IncidentGrant.id)
        )
    )


def all_gateways(session: Session) -> list[Gateway]:
    """Every mail gateway, by name."""
    return list(session.scalars(select(Gateway).order_by(Gateway.name)))


def all_replies(session: Session) -> list[PredefinedReply]:
    return list(session.scalars(select(PredefinedReply).order_by(PredefinedReply.id)))


def visible_replies(session: Session, staff: Staff) -> list[PredefinedReply]:
    """Administrators manage every reply; other staff see those they may use."""
    return all_replies(session) if staff.is_admin else replies_for(session, staff)


def audit_entries(session: Session, *, offset: int = 0, limit: int = 100) -> list[AuditEntry]:
    """The audit log, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    return list(session.scalars(query.offset(offset).limit(limit)))
