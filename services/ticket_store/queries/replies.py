"""Pre-defined replies a staff member may pick, and the values of their placeholders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.domain.replies import pickable_by, placeholders
from services.ticket_store.models import Client, Department, PredefinedReply, Staff, Ticket
from services.ticket_store.queries.clients import client_primary_email
from services.ticket_store.queries.staff import staff_department_ids


def replies_for(
    session: Session, staff: Staff, department_id: int | None = None
) -> list[PredefinedReply]:
    """The replies this staff member may pick: everyone's, their departments', their own.

    With a department (a ticket's), department-wide replies are limited to it.
    """
    deps = staff_department_ids(staff)
    if department_id is not None:
        deps &= {department_id}
    query = select(PredefinedReply).where(pickable_by(staff.id, deps))
    return list(session.scalars(query.order_by(PredefinedReply.id)))


def reply_placeholders(session: Session, ticket: Ticket, staff: Staff) -> dict[str, str]:
    client = session.get(Client, ticket.client_id)
    dep = session.get(Department, ticket.department_id)
    return placeholders(
        client_name=client.name if client else "",
        client_email=ticket.reply_to or (client_primary_email(client) if client else ""),
        ticket_number=ticket.number,
        ticket_subject=ticket.subject,
        staff_name=staff.name,
        department=dep.name if dep else "",
    )
