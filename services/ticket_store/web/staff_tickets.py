"""Staff ticket pages: the list, one ticket, and its reply, note, assign and status forms.

Only tickets of the staff member's departments are shown (`access.staff_ticket`); a
reply may start from a pre-defined reply, filled in (`queries.reply_picker`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import access, actions, presenters
from services.ticket_store.http.deps import SessionDep
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
from services.ticket_store.web.common import Who, act, need, render_page, shown_messages
from services.ticket_store.web.forms import (
    Posted,
    ReplyForm,
    StatusForm,
    TextForm,
    WebForm,
    form_number,
    message_text,
    posted,
)
from services.ticket_store.web.paging import PAGE_SIZE, Paging

router = APIRouter(include_in_schema=False)


@router.get("/tickets")
def tickets(
    request: Request, session: SessionDep, status: str = "", q: str = "", page: str = ""
) -> Response:
    """Tickets of my departments; ?q= searches as the API does, ?page= pages by 50."""
    who = need(request, session, "staff")
    status = status if status in STAFF_STATUSES else ""
    q = q.strip()[:SEARCH_MAX]
    shown = Paging.of(page)
    found = staff_tickets(
        session,
        who.person,
        TicketFilter(statuses=(status,) if status else (), q=q),
        offset=shown.offset,
        limit=shown.limit,
    )
    newer, older = shown.links("/tickets", len(found) > PAGE_SIZE, status=status, q=q)
    _deps, staff_names = names(session)
    return render_page(
        request,
        "tickets.html",
        who,
        {
            "rows": [presenters.ticket_out(session, t) for t in found[:PAGE_SIZE]],
            "staff_names": staff_names,
            "status": status,
            "q": q,
            "page": shown.number,
            "newer": newer,
            "older": older,
            "statuses": STAFF_STATUSES,
            "departments": sorted(d.name for d in who.person.departments),
        },
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
    chosen: int | None = None,
) -> Response:
    ticket = access.staff_ticket(session, who.person, number)
    detail = presenters.ticket_detail(session, ticket)
    offered = [
        (o.reply.id, o.reply.title, o.text) for o in offered_replies(session, who.person, ticket)
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
            "statuses": STAFF_STATUSES,
        },
        error=error,
        status=status,
    )


@router.get("/tickets/{number:int}")
def ticket(request: Request, session: SessionDep, number: int, reply: str = "") -> Response:
    """The ticket; ?reply=<id> puts that pre-defined reply, filled in, into the reply box."""
    who = need(request, session, "staff")
    return _ticket_page(request, session, who, number, chosen=form_number(reply))


@router.post("/tickets/{number:int}/reply")
def reply(request: Request, number: int, form: Posted[ReplyForm] = posted(ReplyForm)) -> Response:
    """Send a reply by email; with a pre-defined reply and no text, its filled-in text is sent."""

    def work(uow: UnitOfWork, staff: Staff) -> str:
        ticket = access.staff_ticket(uow.session, staff, number)
        body = form.valid()
        text, reply_id = reply_text(uow.session, staff, ticket, body.text, body.predefined_reply_id)
        actions.messages.staff_reply(
            uow,
            staff,
            ticket,
            message_text(text),
            message_id_domain=request.app.state.settings.message_id_domain,
            predefined_reply_id=reply_id,
        )
        return f"/tickets/{number}?done=replied"

    draft = str(form.raw.get("text") or "")
    return act(request, "staff", form, work, _ticket_page, number=number, draft=draft)


@router.post("/tickets/{number:int}/note")
def note(request: Request, number: int, form: Posted[TextForm] = posted(TextForm)) -> Response:
    """An internal note: staff only, never mailed, never shown to the client."""

    def work(uow: UnitOfWork, staff: Staff) -> str:
        ticket = access.staff_ticket(uow.session, staff, number)
        actions.messages.add_note(uow, staff, ticket, form.valid().message())
        return f"/tickets/{number}?done=noted"

    draft = str(form.raw.get("text") or "")
    return act(request, "staff", form, work, _ticket_page, number=number, draft=draft)


@router.post("/tickets/{number:int}/assign")
def assign(request: Request, number: int, form: Posted[WebForm] = posted(WebForm)) -> Response:
    def work(uow: UnitOfWork, staff: Staff) -> str:
        actions.tickets.assign_to_me(uow, staff, access.staff_ticket(uow.session, staff, number))
        return f"/tickets/{number}?done=assigned"

    return act(request, "staff", form, work, _ticket_page, number=number)


@router.post("/tickets/{number:int}/status")
def set_status(
    request: Request, number: int, form: Posted[StatusForm] = posted(StatusForm)
) -> Response:
    def work(uow: UnitOfWork, staff: Staff) -> str:
        ticket = access.staff_ticket(uow.session, staff, number)
        actions.tickets.change_status(uow, ticket, form.valid().status)
        return f"/tickets/{number}?done=status"

    return act(request, "staff", form, work, _ticket_page, number=number)
