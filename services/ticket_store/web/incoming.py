"""Staff pages for incoming emails that are not yet part of a ticket.

An email can become a new client's ticket, a ticket of an existing client, part
of an existing ticket, or be discarded (deleted or spam; the row stays for audit).
Only staff of the email's department see it (`access.staff_incoming`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import access, actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import Department, Staff
from services.ticket_store.queries.directory import find_client
from services.ticket_store.queries.incoming import INCOMING_STATUSES, incoming_for
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.common import Who, act, need, render_page, safe_html
from services.ticket_store.web.forms import (
    AttachClientForm,
    AttachTicketForm,
    ConvertForm,
    DiscardForm,
    Posted,
    posted,
)
from services.ticket_store.web.paging import PAGE_SIZE, Paging

router = APIRouter(include_in_schema=False)


@router.get("/incoming")
def incoming(
    request: Request, session: SessionDep, status: str = "new", page: str = ""
) -> Response:
    """Emails of my departments with a status; ?page= pages by 50."""
    who = need(request, session, "staff")
    status = status if status in INCOMING_STATUSES else "new"
    shown = Paging.of(page)
    rows = incoming_for(session, who.person, status, offset=shown.offset, limit=shown.limit)
    newer, older = shown.links("/incoming", len(rows) > PAGE_SIZE, status=status)
    return render_page(
        request,
        "incoming.html",
        who,
        {
            "rows": rows[:PAGE_SIZE],
            "status": status,
            "page": shown.number,
            "newer": newer,
            "older": older,
            "statuses": INCOMING_STATUSES,
            "departments": {d.id: d.name for d in who.person.departments},
        },
    )


def _incoming_page(
    request: Request,
    session: Session,
    who: Who,
    incoming_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    row = access.staff_incoming(session, who.person, incoming_id)
    dep = session.get(Department, row.department_id)
    return render_page(
        request,
        "incoming_detail.html",
        who,
        {
            "e": presenters.incoming_detail(row),
            "html": safe_html(row.text, row.html),
            "department": dep.name if dep else "",
        },
        error=error,
        status=status,
    )


@router.get("/incoming/{incoming_id:int}")
def incoming_detail(request: Request, session: SessionDep, incoming_id: int) -> Response:
    return _incoming_page(request, session, need(request, session, "staff"), incoming_id)


@router.post("/incoming/{incoming_id:int}/convert")
def convert(
    request: Request, incoming_id: int, form: Posted[ConvertForm] = posted(ConvertForm)
) -> Response:
    """A new client from the sender; the email becomes their ticket."""

    def work(uow: UnitOfWork, staff: Staff) -> str:
        row = access.staff_incoming(uow.session, staff, incoming_id)
        name = form.valid().client_name
        ticket = actions.incoming_emails.convert_incoming(uow, staff, row, client_name=name or None)
        return f"/tickets/{ticket.number}?done=converted"

    return act(request, "staff", form, work, _incoming_page, incoming_id=incoming_id)


@router.post("/incoming/{incoming_id:int}/attach-client")
def attach_client(
    request: Request, incoming_id: int, form: Posted[AttachClientForm] = posted(AttachClientForm)
) -> Response:
    """A new ticket of an existing client (given by email or number)."""

    def work(uow: UnitOfWork, staff: Staff) -> str:
        row = access.staff_incoming(uow.session, staff, incoming_id)
        body = form.valid()
        found = find_client(uow.session, body.client)
        if found is None:
            raise NotFound(f"client {body.client.strip()!r}")
        ticket = actions.incoming_emails.attach_incoming_to_client(
            uow, staff, row, found.id, register_address=body.register_address
        )
        return f"/tickets/{ticket.number}?done=converted"

    return act(request, "staff", form, work, _incoming_page, incoming_id=incoming_id)


@router.post("/incoming/{incoming_id:int}/attach-ticket")
def attach_ticket(
    request: Request, incoming_id: int, form: Posted[AttachTicketForm] = posted(AttachTicketForm)
) -> Response:
    """The email joins a ticket the staff member may handle, as the client's message."""

    def work(uow: UnitOfWork, staff: Staff) -> str:
        row = access.staff_incoming(uow.session, staff, incoming_id)
        ticket = access.staff_ticket(uow.session, staff, form.valid().ticket_number)
        actions.incoming_emails.attach_incoming_to_ticket(uow, staff, row, ticket)
        return f"/tickets/{ticket.number}?done=attached"

    return act(request, "staff", form, work, _incoming_page, incoming_id=incoming_id)


@router.post("/incoming/{incoming_id:int}/discard")
def discard(
    request: Request, incoming_id: int, form: Posted[DiscardForm] = posted(DiscardForm)
) -> Response:
    """Delete, or mark as spam; the row stays for the audit trail."""

    def work(uow: UnitOfWork, staff: Staff) -> str:
        row = access.staff_incoming(uow.session, staff, incoming_id)
        actions.incoming_emails.discard_incoming(uow, staff, row, form.valid().status)
        return "/incoming?done=discarded"

    return act(request, "staff", form, work, _incoming_page, incoming_id=incoming_id)
