"""Staff pages for incoming emails that are not yet part of a ticket.

An email can become a new client's ticket, a ticket of an existing client, part
of an existing ticket, or be discarded (deleted or spam; the row stays for audit).
Only staff of the email's department see it (`access.staff_incoming`).
"""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store import access, actions, presenters
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Department, IncomingEmail, Staff
from services.ticket_store.queries.directory import find_client
from services.ticket_store.queries.incoming import INCOMING_STATUSES, incoming_for
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.common import Pages, View, safe_html
from services.ticket_store.web.forms import (
    AttachClientForm,
    AttachTicketForm,
    ConvertForm,
    DiscardForm,
)
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


@pages.action("/incoming/{incoming_id:int}/convert", ConvertForm, incoming_page)
def convert(uow: UnitOfWork, staff: Staff, form: ConvertForm, incoming_id: int) -> str:
    """A new client from the sender; the email becomes their ticket."""
    row = access.staff_incoming(uow.session, staff, incoming_id)
    name = form.client_name or None
    ticket = actions.incoming_emails.convert_incoming(uow, staff, row, client_name=name)
    return f"/tickets/{ticket.number}?done=converted"


@pages.action("/incoming/{incoming_id:int}/attach-client", AttachClientForm, incoming_page)
def attach_client(uow: UnitOfWork, staff: Staff, form: AttachClientForm, incoming_id: int) -> str:
    """A new ticket of an existing client (given by email or number)."""
    row = access.staff_incoming(uow.session, staff, incoming_id)
    found = find_client(uow.session, form.client)
    if found is None:
        raise NotFound(f"client {form.client.strip()!r}")
    ticket = actions.incoming_emails.attach_incoming_to_client(
        uow, staff, row, found.id, register_address=form.register_address
    )
    return f"/tickets/{ticket.number}?done=converted"


@pages.action("/incoming/{incoming_id:int}/attach-ticket", AttachTicketForm, incoming_page)
def attach_ticket(uow: UnitOfWork, staff: Staff, form: AttachTicketForm, incoming_id: int) -> str:
    """The email joins a ticket the staff member may handle, as the client's message."""
    row = access.staff_incoming(uow.session, staff, incoming_id)
    ticket = access.staff_ticket(uow.session, staff, form.ticket_number)
    actions.incoming_emails.attach_incoming_to_ticket(uow, staff, row, ticket)
    return f"/tickets/{ticket.number}?done=attached"


@pages.action("/incoming/{incoming_id:int}/discard", DiscardForm, incoming_page)
def discard(uow: UnitOfWork, staff: Staff, form: DiscardForm, incoming_id: int) -> str:
    """Delete, or mark as spam; the row stays for the audit trail."""
    row = access.staff_incoming(uow.session, staff, incoming_id)
    actions.incoming_emails.discard_incoming(uow, staff, row, form.status)
    return "/incoming?done=discarded"
