"""Staff ticket pages: the list, one ticket, and its reply, note, assign and status forms.

Only tickets of the staff member's departments are shown (the API's rule, via
`find_staff_ticket`); a reply may start from a pre-defined reply, filled in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.replies import fill_placeholders
from services.ticket_store.models import Staff
from services.ticket_store.queries.replies import replies_for, reply_placeholders
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.common import (
    ErrorPage,
    Who,
    act,
    find_staff_ticket,
    form_number,
    message_text,
    need_staff,
    render_page,
    shown_messages,
)

router = APIRouter(include_in_schema=False)


@router.get("/tickets")
def tickets(
    request: Request, session: SessionDep, status: str = "", q: str = "", page: str = ""
) -> Response:
    """Tickets of my departments; ?q= searches as the JSON API does, ?page= pages by 50."""
    who, staff = need_staff(request, session)
    status = status if status in queries.STAFF_STATUSES else ""
    q = q.strip()[: queries.SEARCH_MAX]
    shown = queries.Page.of(page)
    rows = queries.staff_tickets(
        session, staff, status or None, q=q, offset=shown.offset, limit=shown.limit
    )
    newer, older = shown.links("/tickets", len(rows) > queries.PAGE_SIZE, status=status, q=q)
    deps = sorted(d.name for d in staff.departments)
    return render_page(
        request,
        "tickets.html",
        who,
        {
            "rows": rows[: queries.PAGE_SIZE],
            "status": status,
            "q": q,
            "page": shown.number,
            "newer": newer,
            "older": older,
            "statuses": queries.STAFF_STATUSES,
            "departments": deps,
        },
    )


def _staff_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    draft: str = "",
    chosen: int | None = None,
) -> Response:
    assert who.staff is not None
    ticket = find_staff_ticket(session, who.staff, number)
    detail = views.ticket_detail(session, ticket)
    values = reply_placeholders(session, ticket, who.staff)
    offered = [
        (r.id, r.title, fill_placeholders(r.text, values))
        for r in replies_for(session, who.staff, ticket.department_id)
    ]
    if chosen is not None and not draft:
        draft = next((text for rid, _t, text in offered if rid == chosen), "")
        if not draft:
            chosen = None
    assignee = session.get(Staff, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    return render_page(
        request,
        "ticket.html",
        who,
        {
            "t": detail,
            "messages": shown_messages(detail.messages),
            "offered": offered,
            "draft": draft,
            "chosen": chosen,
            "assignee": assignee.name if assignee else "",
            "statuses": queries.STAFF_STATUSES,
            "error": error,
        },
        status,
    )


@router.get("/tickets/{number:int}")
def ticket(request: Request, session: SessionDep, number: int, reply: str = "") -> Response:
    """The ticket; ?reply=<id> puts that pre-defined reply, filled in, into the reply box."""
    who, _staff = need_staff(request, session)
    return _staff_ticket_page(request, session, who, number, chosen=form_number(reply))


def _ticket_error(request: Request, number: int, draft: str = "") -> ErrorPage:
    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _staff_ticket_page(
            request, s, who, number, error=message, status=status, draft=draft
        )

    return show


@router.post("/tickets/{number:int}/reply")
def reply(
    request: Request,
    number: int,
    text: Annotated[str, Form()] = "",
    predefined_reply_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Send a reply by email; with a pre-defined reply and no text, its filled-in text is sent."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = find_staff_ticket(s, who.staff, number)
        chosen_id = form_number(predefined_reply_id)
        body = text
        if predefined_reply_id.strip():
            available = {r.id: r for r in replies_for(s, who.staff, ticket.department_id)}
            chosen = available.get(chosen_id) if chosen_id else None
            if chosen is None:
                raise NotFound(f"pre-defined reply {predefined_reply_id.strip()} for you here")
            if not body.strip():
                values = reply_placeholders(s, ticket, who.staff)
                body = fill_placeholders(chosen.text, values)
        settings = request.app.state.settings
        actions.messages.staff_reply(
            UnitOfWork(s, settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            ticket,
            message_text(body),
            message_id_domain=settings.message_id_domain,
            predefined_reply_id=chosen_id if predefined_reply_id.strip() else None,
        )
        return f"/tickets/{number}?done=replied"

    return act(request, "staff", csrf_token, work, _ticket_error(request, number, text))


@router.post("/tickets/{number:int}/note")
def note(
    request: Request,
    number: int,
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """An internal note: staff only, never mailed, never shown to the client."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = find_staff_ticket(s, who.staff, number)
        actions.messages.add_note(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            ticket,
            message_text(text),
        )
        return f"/tickets/{number}?done=noted"

    return act(request, "staff", csrf_token, work, _ticket_error(request, number, text))


@router.post("/tickets/{number:int}/assign")
def assign(request: Request, number: int, csrf_token: Annotated[str, Form()] = "") -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = find_staff_ticket(s, who.staff, number)
        actions.tickets.assign_to_me(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            who.staff,
            ticket,
        )
        return f"/tickets/{number}?done=assigned"

    return act(request, "staff", csrf_token, work, _ticket_error(request, number))


@router.post("/tickets/{number:int}/status")
def set_status(
    request: Request,
    number: int,
    status: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = find_staff_ticket(s, who.staff, number)
        actions.tickets.change_status(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{who.staff.id}"),
            ticket,
            status,
        )
        return f"/tickets/{number}?done=status"

    return act(request, "staff", csrf_token, work, _ticket_error(request, number))
