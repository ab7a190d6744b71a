"""Staff pages for incoming emails that are not yet part of a ticket.

An email can become a new client's ticket, a ticket of an existing client, part
of an existing ticket, or be discarded (deleted or spam; the row stays for audit).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.text import sanitise_html
from services.ticket_store.models import Department, IncomingEmail, Staff
from services.ticket_store.queries.staff import can_handle
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.common import (
    MAX_ID,
    ErrorPage,
    Refused,
    Who,
    act,
    find_staff_ticket,
    form_number,
    need_staff,
    render_page,
)

router = APIRouter(include_in_schema=False)


def _incoming(session: Session, staff: Staff, incoming_id: int) -> IncomingEmail:
    """Mirrors the JSON API's check: only staff of the email's department."""
    row = session.get(IncomingEmail, incoming_id) if incoming_id <= MAX_ID else None
    if row is None:
        raise Refused(404, f"incoming email {incoming_id} does not exist")
    if not can_handle(staff, row.department_id):
        raise Refused(403, "This email came in for a department you do not work in.")
    return row


@router.get("/incoming")
def incoming(
    request: Request, session: SessionDep, status: str = "new", page: str = ""
) -> Response:
    """Emails of my departments with a status; ?page= pages by 50."""
    who, staff = need_staff(request, session)
    status = status if status in queries.INCOMING_STATUSES else "new"
    shown = queries.Page.of(page)
    rows = queries.incoming_for(session, staff, status, offset=shown.offset, limit=shown.limit)
    newer, older = shown.links("/incoming", len(rows) > queries.PAGE_SIZE, status=status)
    deps = {d.id: d.name for d in staff.departments}
    return render_page(
        request,
        "incoming.html",
        who,
        {
            "rows": rows[: queries.PAGE_SIZE],
            "status": status,
            "page": shown.number,
            "newer": newer,
            "older": older,
            "statuses": queries.INCOMING_STATUSES,
            "departments": deps,
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
    assert who.staff is not None
    row = _incoming(session, who.staff, incoming_id)
    dep = session.get(Department, row.department_id)
    html = Markup(sanitise_html(row.html)) if row.html and not row.text.strip() else None
    return render_page(
        request,
        "incoming_detail.html",
        who,
        {
            "e": views.incoming_detail(row),
            "html": html,
            "department": dep.name if dep else "",
            "error": error,
        },
        status,
    )


@router.get("/incoming/{incoming_id:int}")
def incoming_detail(request: Request, session: SessionDep, incoming_id: int) -> Response:
    who, _staff = need_staff(request, session)
    return _incoming_page(request, session, who, incoming_id)


def _incoming_error(request: Request, incoming_id: int) -> ErrorPage:
    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _incoming_page(request, s, who, incoming_id, error=message, status=status)

    return show


@router.post("/incoming/{incoming_id:int}/convert")
def convert(
    request: Request,
    incoming_id: int,
    client_name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new client from the sender; the email becomes their ticket."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        if len(client_name) > 200:
            raise ValueError("The client's name is longer than 200 characters.")
        ticket = actions.incoming_emails.convert_incoming(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            row,
            client_name=client_name.strip() or None,
        )
        return f"/tickets/{ticket.number}?done=converted"

    return act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


@router.post("/incoming/{incoming_id:int}/attach-client")
def attach_client(
    request: Request,
    incoming_id: int,
    client: Annotated[str, Form()] = "",
    register_address: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new ticket of an existing client (given by email or number)."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        found = queries.find_client(s, client)
        if found is None:
            raise NotFound(f"client {client.strip()!r}")
        ticket = actions.incoming_emails.attach_incoming_to_client(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            row,
            found.id,
            register_address=bool(register_address),
        )
        return f"/tickets/{ticket.number}?done=converted"

    return act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


@router.post("/incoming/{incoming_id:int}/attach-ticket")
def attach_ticket(
    request: Request,
    incoming_id: int,
    ticket_number: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The email joins a ticket the staff member may handle, as the client's message."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        number = form_number(ticket_number)
        if number is None:
            raise ValueError("Give the ticket's number.")
        ticket = find_staff_ticket(s, who.staff, number)
        actions.incoming_emails.attach_incoming_to_ticket(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            row,
            ticket,
        )
        return f"/tickets/{ticket.number}?done=attached"

    return act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


@router.post("/incoming/{incoming_id:int}/discard")
def discard(
    request: Request,
    incoming_id: int,
    status: Annotated[str, Form()] = "deleted",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Delete, or mark as spam; the row stays for the audit trail."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        actions.incoming_emails.discard_incoming(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            row,
            status,
        )
        return "/incoming?done=discarded"

    return act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))
