"""A web/API ticket waiting for (or answered by) the incident ledger, as the client sees it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.ticket_store.models import Department
from services.ticket_store.models_ticket_requests import TicketRequest
from services.ticket_store.presenters.base import Out
from services.ticket_store.queries.ticket_requests import opened_ticket


class TicketRequestOut(Out):
    """pending: the incident check is under way, ask again; opened: see `ticket_number`;
    refused: no incident left, `notice` is the department's text."""

    request_id: str
    state: str
    department: str
    subject: str
    ticket_number: int | None = None
    notice: str = ""
    created_at: datetime
    decided_at: datetime | None = None


def ticket_request_out(session: Session, row: TicketRequest) -> TicketRequestOut:
    dep = session.get(Department, row.department_id)
    ticket = opened_ticket(session, row)
    return TicketRequestOut.of(
        row,
        request_id=row.id,
        department=dep.name if dep else "",
        ticket_number=ticket.number if ticket else None,
    )
