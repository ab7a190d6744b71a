"""Staff ticket pages: the list, one ticket, and its reply, note, assign and status forms.

Only tickets of the staff member's departments are shown (`access.staff_ticket`); a
reply may start from a pre-defined reply, filled in (`queries.reply_picker`).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from services.ticket_store import access, actions, presenters
from services.ticket_store.models import Staff
from services.ticket_store.queries.directory import names
from services.ticket_store.queries.reply_picker import offered_replies, reply_text
from services.ticket_store.queries.ticket_lists import (
    SEARCH_MAX,
    STAFF_STATUSES,
    TicketFilter,
    staff_tickets,
)
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import forms
from services.ticket_store.web.common import Pages, View, shown_messages
from services.ticket_store.web.paging import paged

pages = Pages("staff")


@pages.page("/tickets")
def tickets(view: View) -> Response:
    """Tickets of my departments; ?status= and ?q= filter (searching as the API does),
    ?page= pages by 50."""
    status = view.query("status")
    status = status if status in STAFF_STATUSES else ""
    q = view.query("q").strip()[:SEARCH_MAX]
    filters = TicketFilter(statuses=(status,) if status else (), q=q)

    def fetch(offset: int, limit: int) -> list[presenters.TicketOut]:
        found = staff_tickets(view.session, view.person, filters, offset=offset, limit=limit)
        return [presenters.ticket_out(view.session, t) for t in found]

    return view.render(
        "tickets.html",
        staff_names=names(view.session)[1],
        status=status,
        q=q,
        statuses=STAFF_STATUSES,
        departments=sorted(d.name for d in view.person.departments),
        **paged(view.query("page"), "/tickets", fetch, status=status, q=q),
    )


@pages.page("/tickets/{number:int}")
def ticket_page(view: View, number: int) -> Response:
    """The ticket; ?reply=<id> puts that pre-defined reply, filled in, into the reply box."""
    session, staff = view.session, view.person
    ticket = access.staff_ticket(session, staff, number)
    detail = presenters.ticket_detail(session, ticket)
    offered = [(o.reply.id, o.reply.title, o.text) for o in offered_replies(session, staff, ticket)]
    draft = str((view.form or {}).get("text") or "")
    chosen = None if view.form is not None else forms.form_number(view.query("reply"))
    if chosen is not None:
        draft = next((text for rid, _t, text in offered if rid == chosen), "")
        chosen = chosen if draft else None
    assignee = session.get(Staff, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    return view.render(
        "ticket.html",
        t=detail,
        messages=shown_messages(detail.messages),
        offered=offered,
        draft=draft,
        chosen=chosen,
        reply_all=str((view.form or {}).get("reply_all") or "") == "1",
        assignee=assignee.name if assignee else "",
        statuses=STAFF_STATUSES,
    )


@pages.action("/tickets/{number:int}/reply", forms.ReplyForm, ticket_page)
def reply(
    uow: UnitOfWork, staff: Staff, form: forms.ReplyForm, number: int, request: Request
) -> str:
    """Send a reply by email (to the client, or reply-all); with a pre-defined reply and no
    text, its filled-in text is sent."""
    ticket = access.staff_ticket(uow.session, staff, number)
    text, reply_id = reply_text(uow.session, staff, ticket, form.text, form.predefined_reply_id)
    actions.messages.staff_reply(
        uow,
        staff,
        ticket,
        forms.message_text(text),
        message_id_domain=request.app.state.settings.message_id_domain,
        predefined_reply_id=reply_id,
        reply_all=form.reply_all,
    )
    return f"/tickets/{number}?done=replied"


@pages.action("/tickets/{number:int}/note", forms.TextForm, ticket_page)
def note(uow: UnitOfWork, staff: Staff, form: forms.TextForm, number: int) -> str:
    """An internal note: staff only, never mailed, never shown to the client."""
    actions.messages.add_note(
        uow, staff, access.staff_ticket(uow.session, staff, number), form.message()
    )
    return f"/tickets/{number}?done=noted"


@pages.action("/tickets/{number:int}/assign", forms.WebForm, ticket_page)
def assign(uow: UnitOfWork, staff: Staff, form: forms.WebForm, number: int) -> str:
    actions.tickets.assign_to_me(uow, staff, access.staff_ticket(uow.session, staff, number))
    return f"/tickets/{number}?done=assigned"


@pages.action("/tickets/{number:int}/status", forms.StatusForm, ticket_page)
def set_status(uow: UnitOfWork, staff: Staff, form: forms.StatusForm, number: int) -> str:
    actions.tickets.change_status(uow, access.staff_ticket(uow.session, staff, number), form.status)
    return f"/tickets/{number}?done=status"
