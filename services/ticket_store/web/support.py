"""The clients' support center: their tickets, opening a new one, replying, rating staff
replies (quality control) and closing.

Clients see what the client API shows (`presenters.client_ticket_detail`: no internal
notes, no delivery details), and a new ticket follows the incident rule of the actions.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import access, actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import Client
from services.ticket_store.queries.directory import support_departments
from services.ticket_store.queries.ticket_lists import client_tickets
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.common import Who, act, need, render_page, shown_messages
from services.ticket_store.web.forms import (
    NewTicketForm,
    Posted,
    RatingForm,
    TextForm,
    WebForm,
    form_number,
    posted,
)

router = APIRouter(include_in_schema=False)


@router.get("/support")
def support(request: Request, session: SessionDep) -> Response:
    who = need(request, session, "client")
    return render_page(
        request,
        "support.html",
        who,
        {
            "departments": support_departments(session),
            "balance": incident_balance(session, who.person.id),
            "tickets": [
                presenters.client_ticket_out(session, t)
                for t in client_tickets(session, who.person)
            ],
        },
    )


def _new_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    department_id: int | None = None,
    form: dict[str, object] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    """The form for one department: incidents left, a warning where support is paid, and the
    department's own notice instead of the form when none are left."""
    shown = support_departments(session)
    dep = next((d for d in shown if d.id == department_id), None)
    balance = incident_balance(session, who.person.id)
    typed = form or {}
    return render_page(
        request,
        "support_new.html",
        who,
        {
            "departments": shown,
            "dep": dep,
            "balance": balance,
            "blocked": bool(dep and dep.per_incident and balance < 1),
            "subject": typed.get("subject") or "",
            "text": typed.get("text") or "",
        },
        error=error,
        status=status,
    )


@router.get("/support/new")
def new_ticket_form(request: Request, session: SessionDep, department_id: str = "") -> Response:
    who = need(request, session, "client")
    return _new_ticket_page(request, session, who, department_id=form_number(department_id))


@router.post("/support/tickets")
def open_ticket(request: Request, form: Posted[NewTicketForm] = posted(NewTicketForm)) -> Response:
    """A new ticket, under the incident rule of the actions (the same as the API's)."""

    def work(uow: UnitOfWork, client: Client) -> str:
        body = form.valid()
        ticket = actions.tickets.open_ticket_by_client(
            uow, client, body.department_id, body.subject, body.text
        )
        return f"/support/tickets/{ticket.number}?done=opened"

    dep_id = form_number(form.raw.get("department_id"))
    return act(
        request, "client", form, work, _new_ticket_page, department_id=dep_id, form=form.shown()
    )


def _ticket_page(
    request: Request,
    session: Session,
    who: Who,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    draft: str = "",
) -> Response:
    detail = presenters.client_ticket_detail(
        session, access.client_ticket(session, who.person, number)
    )
    return render_page(
        request,
        "support_ticket.html",
        who,
        {"t": detail, "messages": shown_messages(detail.messages), "draft": draft},
        error=error,
        status=status,
    )


@router.get("/support/tickets/{number:int}")
def client_ticket_page(request: Request, session: SessionDep, number: int) -> Response:
    return _ticket_page(request, session, need(request, session, "client"), number)


@router.post("/support/tickets/{number:int}/reply")
def client_reply(
    request: Request, number: int, form: Posted[TextForm] = posted(TextForm)
) -> Response:
    def work(uow: UnitOfWork, client: Client) -> str:
        ticket = access.client_ticket(uow.session, client, number)
        actions.messages.client_message(uow, client, ticket, form.valid().message())
        return f"/support/tickets/{number}?done=replied"

    draft = str(form.raw.get("text") or "")
    return act(request, "client", form, work, _ticket_page, number=number, draft=draft)


@router.post("/support/tickets/{number:int}/close")
def client_close(
    request: Request, number: int, form: Posted[WebForm] = posted(WebForm)
) -> Response:
    def work(uow: UnitOfWork, client: Client) -> str:
        actions.tickets.change_status(
            uow, access.client_ticket(uow.session, client, number), "closed"
        )
        return f"/support/tickets/{number}?done=closed"

    return act(request, "client", form, work, _ticket_page, number=number)


@router.post("/support/tickets/{number:int}/messages/{message_id:int}/rating")
def client_rate_reply(
    request: Request, number: int, message_id: int, form: Posted[RatingForm] = posted(RatingForm)
) -> Response:
    """The client's 1–5 rating of a staff reply (the same rules as the API's)."""

    def work(uow: UnitOfWork, client: Client) -> str:
        ticket = access.client_ticket(uow.session, client, number)
        body = form.valid()
        if form_number(message_id) is None:
            raise NotFound(f"message {message_id}")
        actions.ratings.rate_reply(
            uow, client, message_id, body.score, body.comment, ticket_number=ticket.number
        )
        return f"/support/tickets/{number}#m{message_id}"

    return act(request, "client", form, work, _ticket_page, number=number)
