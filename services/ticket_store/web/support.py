"""The clients' support center: their tickets, opening a new one, replying, rating staff
replies (quality control) and closing.

Clients see what the client API shows (`presenters.client_ticket_detail`: no internal
notes, no delivery details), and a new ticket follows the incident rule of the actions.
"""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store import access, actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Client
from services.ticket_store.queries.directory import support_departments
from services.ticket_store.queries.ticket_lists import client_tickets
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
    """A new ticket, under the incident rule of the actions (the same as the API's)."""
    ticket = actions.tickets.open_ticket_by_client(
        uow, client, form.department_id, form.subject, form.text
    )
    return f"/support/tickets/{ticket.number}?done=opened"


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
