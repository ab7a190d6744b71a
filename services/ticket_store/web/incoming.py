"""Staff pages for incoming emails that are not yet part of a ticket.

An email can become a new client's ticket, a ticket of an existing client, part
of an existing ticket, or be discarded (deleted or spam; the row stays for audit).
Only staff of the email's department see it (`access.staff_incoming`).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import Response

from services.ticket_store import access, actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Department, IncomingEmail, Staff
from services.ticket_store.queries.directory import find_client
from services.ticket_store.queries.incoming import INCOMING_STATUSES, incoming_for
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import forms
from services.ticket_store.web.common import Action, Pages, View, safe_html
from services.ticket_store.web.paging import paged

pages = Pages("staff")


@pages.page("/incoming")
def incoming(view: View) -> Response:
    """Emails of my departments with a ?status= (new by default); ?page= pages by 50."""
    status = view.query("status", "new")
    status = status if status in INCOMING_STATUSES else "new"

    def fetch(offset: int, limit: int) -> list[IncomingEmail]:
        return incoming_for(view.session, view.person, status, offset=offset, limit=limit)

    departments = {d.id: d.name for d in view.person.departments}
    listing = paged(view.query("page"), "/incoming", fetch, status=status)
    return view.render(
        "incoming.html",
        status=status,
        statuses=INCOMING_STATUSES,
        departments=departments,
        **listing,
    )


@pages.page("/incoming/{incoming_id:int}")
def incoming_page(view: View, incoming_id: int) -> Response:
    """One email: its text (or its HTML, cleaned), attachments, and what can become of it."""
    row = access.staff_incoming(view.session, view.person, incoming_id)
    dep = view.session.get(Department, row.department_id)
    return view.render(
        "incoming_detail.html",
        e=presenters.incoming_detail(row),
        html=safe_html(row.text, row.html),
        department=dep.name if dep else "",
    )


def on_email(path: str, model: type[forms.WebForm]) -> Callable[[Action], Action]:
    """A form of an email's page: `work(uow, staff, form, row)` is given the email, once
    `access` has let this staff member handle it."""

    def register(work: Action) -> Action:
        def with_row(uow: UnitOfWork, staff: Staff, form: forms.WebForm, incoming_id: int) -> str:
            return work(uow, staff, form, access.staff_incoming(uow.session, staff, incoming_id))

        with_row.__name__, with_row.__doc__ = work.__name__, work.__doc__
        pages.action(f"/incoming/{{incoming_id:int}}/{path}", model, incoming_page)(with_row)
        return work

    return register


@on_email("convert", forms.ConvertForm)
def convert(uow: UnitOfWork, staff: Staff, form: forms.ConvertForm, row: IncomingEmail) -> str:
    """A new client from the sender; the email becomes their ticket."""
    name = form.client_name or None
    ticket = actions.incoming_emails.convert_incoming(uow, staff, row, client_name=name)
    return f"/tickets/{ticket.number}?done=converted"


@on_email("attach-client", forms.AttachClientForm)
def attach_client(
    uow: UnitOfWork, staff: Staff, form: forms.AttachClientForm, row: IncomingEmail
) -> str:
    """A new ticket of an existing client (given by email or number)."""
    found = find_client(uow.session, form.client)
    if found is None:
        raise NotFound(f"client {form.client.strip()!r}")
    ticket = actions.incoming_emails.attach_incoming_to_client(
        uow, staff, row, found.id, register_address=form.register_address
    )
    return f"/tickets/{ticket.number}?done=converted"


@on_email("attach-ticket", forms.AttachTicketForm)
def attach_ticket(
    uow: UnitOfWork, staff: Staff, form: forms.AttachTicketForm, row: IncomingEmail
) -> str:
    """The email joins a ticket the staff member may handle, as the client's message."""
    ticket = access.staff_ticket(uow.session, staff, form.ticket_number)
    actions.incoming_emails.attach_incoming_to_ticket(uow, staff, row, ticket)
    return f"/tickets/{ticket.number}?done=attached"


@on_email("discard", forms.DiscardForm)
def discard(uow: UnitOfWork, staff: Staff, form: forms.DiscardForm, row: IncomingEmail) -> str:
    """Delete, or mark as spam; the row stays for the audit trail."""
    actions.incoming_emails.discard_incoming(uow, staff, row, form.status)
    return "/incoming?done=discarded"
