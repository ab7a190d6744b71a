"""The clients' support center: their tickets, opening a new one, replying, rating staff
replies (quality control) and closing.

Clients see what the JSON client API shows (no internal notes, no delivery
details), and a new ticket follows the service layer's incident rule.
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
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.common import (
    Who,
    act,
    find_client_ticket,
    form_number,
    message_text,
    need_client,
    render_page,
    shown_messages,
)

router = APIRouter(include_in_schema=False)


@router.get("/support")
def support(request: Request, session: SessionDep) -> Response:
    who, client = need_client(request, session)
    return render_page(
        request,
        "support.html",
        who,
        {
            "departments": queries.support_departments(session),
            "balance": incident_balance(session, client.id),
            "tickets": [
                views.client_ticket_out(session, t) for t in queries.client_tickets(session, client)
            ],
        },
    )


def _new_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    department_id: int | None,
    *,
    subject: str = "",
    text: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    """The form for one department: incidents left, a warning where support is paid, and the
    department's own notice instead of the form when none are left."""
    assert who.client is not None
    shown = queries.support_departments(session)
    dep = next((d for d in shown if d.id == department_id), None)
    balance = incident_balance(session, who.client.id)
    return render_page(
        request,
        "support_new.html",
        who,
        {
            "departments": shown,
            "dep": dep,
            "balance": balance,
            "blocked": bool(dep and dep.per_incident and balance < 1),
            "subject": subject,
            "text": text,
            "error": error,
        },
        status,
    )


@router.get("/support/new")
def new_ticket_form(request: Request, session: SessionDep, department_id: str = "") -> Response:
    who, _client = need_client(request, session)
    return _new_ticket_page(request, session, who, form_number(department_id))


@router.post("/support/tickets")
def open_ticket(
    request: Request,
    department_id: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new ticket, under the incident rule of the service layer (the same as the API)."""
    dep_id = form_number(department_id)

    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        if dep_id is None:
            raise ValueError("Choose a department.")
        if not subject.strip() or len(subject) > 998:
            raise ValueError("The subject has 1 to 998 characters.")
        ticket = actions.tickets.open_ticket_by_client(
            UnitOfWork(s, request.app.state.settings.topics, f"client:{who.client.id}"),
            who.client,
            dep_id,
            subject,
            message_text(text),
        )
        return f"/support/tickets/{ticket.number}?done=opened"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _new_ticket_page(
            request, s, who, dep_id, subject=subject, text=text, error=message, status=status
        )

    return act(request, "client", csrf_token, work, show)


def _client_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    draft: str = "",
) -> Response:
    """What the JSON client API shows: no internal notes, no delivery details."""
    assert who.client is not None
    detail = views.client_ticket_detail(session, find_client_ticket(session, who.client, number))
    return render_page(
        request,
        "support_ticket.html",
        who,
        {"t": detail, "messages": shown_messages(detail.messages), "draft": draft, "error": error},
        status,
    )


@router.get("/support/tickets/{number:int}")
def client_ticket_page(request: Request, session: SessionDep, number: int) -> Response:
    who, _client = need_client(request, session)
    return _client_ticket_page(request, session, who, number)


@router.post("/support/tickets/{number:int}/reply")
def client_reply(
    request: Request,
    number: int,
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        ticket = find_client_ticket(s, who.client, number)
        actions.messages.client_message(
            UnitOfWork(s, request.app.state.settings.topics, f"client:{who.client.id}"),
            who.client,
            ticket,
            message_text(text),
        )
        return f"/support/tickets/{number}?done=replied"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _client_ticket_page(
            request, s, who, number, error=message, status=status, draft=text
        )

    return act(request, "client", csrf_token, work, show)


@router.post("/support/tickets/{number:int}/close")
def client_close(
    request: Request, number: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        ticket = find_client_ticket(s, who.client, number)
        actions.tickets.change_status(
            UnitOfWork(s, request.app.state.settings.topics, f"client:{who.client.id}"),
            ticket,
            "closed",
        )
        return f"/support/tickets/{number}?done=closed"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _client_ticket_page(request, s, who, number, error=message, status=status)

    return act(request, "client", csrf_token, work, show)


@router.post("/support/tickets/{number:int}/messages/{message_id:int}/rating")
def client_rate_reply(
    request: Request,
    number: int,
    message_id: int,
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The client's 1–5 rating of a staff reply (the same rules as the JSON API's)."""

    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        ticket = find_client_ticket(s, who.client, number)
        value = form_number(score)
        if value is None or value > actions.ratings.MAX_SCORE:
            raise ValueError("Choose a score from 1 to 5.")
        if form_number(message_id) is None:
            raise NotFound(f"message {message_id}")
        actions.ratings.rate_reply(
            UnitOfWork(s, request.app.state.settings.topics, f"client:{who.client.id}"),
            who.client,
            message_id,
            value,
            comment,
            ticket_number=ticket.number,
        )
        return f"/support/tickets/{number}#m{message_id}"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _client_ticket_page(request, s, who, number, error=message, status=status)

    return act(request, "client", csrf_token, work, show)
