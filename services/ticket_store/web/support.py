"""The clients' support center: their tickets, opening a new one, replying, rating staff
replies (quality control) and closing.

Clients see what the client API shows (`presenters.client_ticket_detail`: no internal
notes, no delivery details), and a new ticket follows the incident rule of the actions.
"""

from __future__ import annotations

from fastapi.responses import RedirectResponse, Response

from services.ticket_store import access, actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Client
from services.ticket_store.models_ticket_requests import RequestState, TicketRequest
from services.ticket_store.queries.directory import support_departments
from services.ticket_store.queries.ticket_lists import client_tickets
from services.ticket_store.queries.ticket_requests import (
    await_decision,
    client_request,
    opened_ticket,
)
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import forms
from services.ticket_store.web.common import Pages, View, shown_messages

pages = Pages("client")


@pages.page("/support")
def support(view: View) -> Response:
    """My tickets, and the departments I may open one in."""
    session, client = view.session, view.person
    return view.render(
        "support.html",
        departments=support_departments(session),
        balance=incident_balance(session, client.id),
        tickets=[presenters.client_ticket_out(session, t) for t in client_tickets(session, client)],
    )


@pages.page("/support/new")
def new_ticket_page(view: View) -> Response:
    """The form for one department (?department_id=): incidents left, a warning where support
    is paid, and the department's own notice instead of the form when none are left."""
    typed = view.form if view.form is not None else dict(view.request.query_params)
    departments = support_departments(view.session)
    dep = next(
        (d for d in departments if d.id == forms.form_number(typed.get("department_id"))), None
    )
    balance = incident_balance(view.session, view.person.id)
    return view.render(
        "support_new.html",
        departments=departments,
        dep=dep,
        balance=balance,
        blocked=bool(dep and dep.per_incident and balance < 1),
        subject=typed.get("subject") or "",
        text=typed.get("text") or "",
    )


@pages.action("/support/tickets", forms.NewTicketForm, new_ticket_page)
def open_ticket(uow: UnitOfWork, client: Client, form: forms.NewTicketForm) -> str:
    """A new ticket, under the incident rule of the actions (the same as the API's): in a
    paid department the incident ledger decides, and its page waits for the answer."""
    got = actions.ticket_requests.open_ticket_by_client(
        uow, client, form.department_id, form.subject, form.text
    )
    if isinstance(got, TicketRequest):
        return f"/support/requests/{got.id}"
    return f"/support/tickets/{got.number}?done=opened"


@pages.page("/support/requests/{request_id}")
def request_page(view: View, request_id: str) -> Response:
    """A ticket in a paid department: waits (bounded) for the incident ledger, then the
    ticket; or the department's notice; or, still pending, a page that looks again."""
    row = client_request(view.session, view.person, request_id)
    settings = view.request.app.state.settings
    if row.state == RequestState.PENDING:
        db = view.request.app.state.db
        await_decision(db.transaction, row.id, settings.ticket_decision_wait_s)
        view.session.refresh(row)
    ticket = opened_ticket(view.session, row)
    if row.state == RequestState.OPENED and ticket is not None:
        return RedirectResponse(f"/support/tickets/{ticket.number}?done=opened", 303)
    return view.render("support_request.html", r=presenters.ticket_request_out(view.session, row))


@pages.page("/support/tickets/{number:int}")
def ticket_page(view: View, number: int) -> Response:
    """My ticket: no internal notes, no delivery details; my ratings of staff replies."""
    ticket = access.client_ticket(view.session, view.person, number)
    detail = presenters.client_ticket_detail(view.session, ticket)
    draft = str((view.form or {}).get("text") or "")
    return view.render(
        "support_ticket.html", t=detail, messages=shown_messages(detail.messages), draft=draft
    )


@pages.action("/support/tickets/{number:int}/reply", forms.TextForm, ticket_page)
def client_reply(uow: UnitOfWork, client: Client, form: forms.TextForm, number: int) -> str:
    ticket = access.client_ticket(uow.session, client, number)
    actions.messages.client_message(uow, client, ticket, form.message())
    return f"/support/tickets/{number}?done=replied"


@pages.action("/support/tickets/{number:int}/close", forms.WebForm, ticket_page)
def client_close(uow: UnitOfWork, client: Client, form: forms.WebForm, number: int) -> str:
    actions.tickets.change_status(uow, access.client_ticket(uow.session, client, number), "closed")
    return f"/support/tickets/{number}?done=closed"


@pages.action(
    "/support/tickets/{number:int}/messages/{message_id:int}/rating", forms.RatingForm, ticket_page
)
def client_rate_reply(
    uow: UnitOfWork, client: Client, form: forms.RatingForm, number: int, message_id: int
) -> str:
    """The client's 1–5 rating of a staff reply (the same rules as the API's)."""
    ticket = access.client_ticket(uow.session, client, number)
    if forms.form_number(message_id) is None:
        raise NotFound(f"message {message_id}")
    actions.ratings.rate_reply(
        uow, client, message_id, form.score, form.comment, ticket_number=ticket.number
    )
    return f"/support/tickets/{number}#m{message_id}"
