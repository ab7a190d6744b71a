"""Staff work: tickets of their departments, replies, notes, pre-defined replies, incoming emails.

Every read and write of a ticket or an incoming email first asks `access` whether
the staff member works in its department (seed: John handles Technical only, Gary
handles Technical and Sales). Administrators are no exception: ticket access comes
from department membership alone.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from pydantic import AfterValidator

from services.ticket_store import access, actions, presenters
from services.ticket_store.api import schemas
from services.ticket_store.api.deps import SessionDep, StaffDep, UowDep
from services.ticket_store.api.routes import created
from services.ticket_store.api.uploads import store_uploads
from services.ticket_store.domain.text import clean_text
from services.ticket_store.models import Staff
from services.ticket_store.queries.incoming import incoming_for
from services.ticket_store.queries.replies import replies_for
from services.ticket_store.queries.reply_picker import offered_replies, pick_reply
from services.ticket_store.queries.ticket_lists import SEARCH_MAX, TicketFilter, staff_tickets
from services.ticket_store.unit_of_work import UnitOfWork

router = APIRouter(tags=["staff: tickets"])
incoming_router = APIRouter(prefix="/incoming-emails", tags=["staff: incoming emails"])
REPLIES = "staff: pre-defined replies"


@router.get(
    "/tickets", response_model=list[presenters.TicketOut], summary="Tickets of my departments"
)
def list_tickets(
    session: SessionDep,
    staff: StaffDep,
    status: list[schemas.StatusName] | None = Query(None),
    department_id: int | None = None,
    assigned: Literal["me", "nobody"] | None = None,
    q: str | None = Query(
        None, max_length=SEARCH_MAX, description="subject, client name or email, number"
    ),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    filters = TicketFilter(tuple(status or ()), department_id, assigned, q or "")
    found = staff_tickets(session, staff, filters, offset=offset, limit=limit)
    return [presenters.ticket_out(session, t) for t in found]


@router.get(
    "/tickets/{number}", response_model=presenters.TicketDetail, summary="A ticket and its thread"
)
def read_ticket(number: int, session: SessionDep, staff: StaffDep):
    return presenters.ticket_detail(session, access.staff_ticket(session, staff, number))


def _reply(
    request: Request,
    uow: UnitOfWork,
    staff: Staff,
    number: int,
    text: str,
    files: list[UploadFile],
    reply_all: bool,
) -> presenters.MessageOut:
    ticket = access.staff_ticket(uow.session, staff, number)  # before any upload is stored
    msg = actions.messages.staff_reply(
        uow,
        staff,
        ticket,
        text,
        message_id_domain=request.app.state.settings.message_id_domain,
        attachments=store_uploads(request, files),
        reply_all=reply_all,
    )
    return presenters.message_out(uow.session, msg, for_staff=True)


REPLY = "Reply to the client (sent by email); reply_all also Cc's the ticket's cc_addresses"


@created(router, "/tickets/{number}/replies", presenters.MessageOut, REPLY)
def reply(number: int, body: schemas.StaffReplyIn, request: Request, uow: UowDep, staff: StaffDep):
    return _reply(request, uow, staff, number, body.text, [], body.reply_all)


@created(
    router,
    "/tickets/{number}/replies/with-files",
    presenters.MessageOut,
    f"{REPLY}, with attached files (multipart form: text, files, reply_all)",
)
def reply_with_files(
    number: int,
    request: Request,
    uow: UowDep,
    staff: StaffDep,
    text: Annotated[str, Form(min_length=1, max_length=200_000), AfterValidator(clean_text)],
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI's form default
    reply_all: Annotated[bool, Form()] = False,
):
    return _reply(request, uow, staff, number, text, files, reply_all)


@created(router, "/tickets/{number}/notes", presenters.MessageOut, "Add an internal note")
def note(number: int, body: schemas.TextIn, uow: UowDep, staff: StaffDep):
    """Never mailed, never shown to the client."""
    ticket = access.staff_ticket(uow.session, staff, number)
    msg = actions.messages.add_note(uow, staff, ticket, body.text)
    return presenters.message_out(uow.session, msg, for_staff=True)


@router.post(
    "/tickets/{number}/assign", response_model=presenters.TicketOut, summary="Assign to me"
)
def assign(number: int, uow: UowDep, staff: StaffDep):
    ticket = access.staff_ticket(uow.session, staff, number)
    return presenters.ticket_out(uow.session, actions.tickets.assign_to_me(uow, staff, ticket))


def _set_status(uow: UowDep, staff: StaffDep, number: int, status: str) -> presenters.TicketOut:
    ticket = access.staff_ticket(uow.session, staff, number)
    return presenters.ticket_out(uow.session, actions.tickets.change_status(uow, ticket, status))


@router.post(
    "/tickets/{number}/status", response_model=presenters.TicketOut, summary="Change status"
)
def set_status(number: int, body: schemas.StatusIn, uow: UowDep, staff: StaffDep):
    return _set_status(uow, staff, number, body.status)


@router.post("/tickets/{number}/close", response_model=presenters.TicketOut, summary="Close")
def close(number: int, uow: UowDep, staff: StaffDep):
    return _set_status(uow, staff, number, "closed")


# ------------------------------------------------------------------ pre-defined replies


@router.get(
    "/predefined-replies",
    response_model=list[presenters.ReplyOut],
    tags=[REPLIES],
    summary="Pre-defined replies available to me",
)
def my_replies(session: SessionDep, staff: StaffDep):
    return [presenters.reply_out(r) for r in replies_for(session, staff)]


@router.get(
    "/tickets/{number}/predefined-replies",
    response_model=list[presenters.FilledReplyOut],
    tags=[REPLIES],
    summary="The Auto-reply window: replies for this ticket, placeholders filled",
)
def ticket_replies(number: int, session: SessionDep, staff: StaffDep):
    ticket = access.staff_ticket(session, staff, number)
    return presenters.filled_replies(offered_replies(session, staff, ticket))


@router.post(
    "/tickets/{number}/predefined-replies/{reply_id}/send",
    response_model=presenters.MessageOut,
    status_code=201,
    tags=[REPLIES],
    summary="Send a pre-defined reply to the client (?reply_all=true: Cc the ticket's Cc list)",
)
def send_reply(
    number: int,
    reply_id: int,
    request: Request,
    uow: UowDep,
    staff: StaffDep,
    reply_all: bool = Query(False, description="also Cc the ticket's cc_addresses"),
):
    ticket = access.staff_ticket(uow.session, staff, number)
    picked = pick_reply(uow.session, staff, ticket, reply_id)
    msg = actions.messages.staff_reply(
        uow,
        staff,
        ticket,
        picked.text,
        message_id_domain=request.app.state.settings.message_id_domain,
        predefined_reply_id=picked.reply.id,
        reply_all=reply_all,
    )
    return presenters.message_out(uow.session, msg, for_staff=True)


# ------------------------------------------------------------------ incoming emails


@incoming_router.get(
    "", response_model=list[presenters.IncomingOut], summary="Unknown senders' mail"
)
def list_incoming(
    session: SessionDep,
    staff: StaffDep,
    status: Literal["new", "converted", "deleted", "spam"] = "new",
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    rows = incoming_for(session, staff, status, offset=offset, limit=limit)
    return [presenters.IncomingOut.model_validate(r) for r in rows]


@incoming_router.get("/{incoming_id}", response_model=presenters.IncomingDetail, summary="Read one")
def read_incoming(incoming_id: int, session: SessionDep, staff: StaffDep):
    return presenters.incoming_detail(access.staff_incoming(session, staff, incoming_id))


@created(incoming_router, "/{incoming_id}/convert", presenters.TicketOut, "Sender to client")
def convert(incoming_id: int, body: schemas.ConvertIn, uow: UowDep, staff: StaffDep):
    """Create a client from the sender and turn the mail into their ticket."""
    row = access.staff_incoming(uow.session, staff, incoming_id)
    ticket = actions.incoming_emails.convert_incoming(uow, staff, row, client_name=body.client_name)
    return presenters.ticket_out(uow.session, ticket)


@incoming_router.post(
    "/{incoming_id}/attach",
    response_model=presenters.TicketOut,
    summary="Attach to an existing client (new ticket) or ticket (new message)",
)
def attach(incoming_id: int, body: schemas.AttachIn, uow: UowDep, staff: StaffDep):
    if (body.client_id is None) == (body.ticket_number is None):
        raise HTTPException(422, "give exactly one of client_id or ticket_number")
    row = access.staff_incoming(uow.session, staff, incoming_id)
    if body.ticket_number is not None:
        ticket = access.staff_ticket(uow.session, staff, body.ticket_number)
        actions.incoming_emails.attach_incoming_to_ticket(uow, staff, row, ticket)
    else:
        assert body.client_id is not None
        ticket = actions.incoming_emails.attach_incoming_to_client(
            uow, staff, row, body.client_id, register_address=body.register_address
        )
    return presenters.ticket_out(uow.session, ticket)


def _discard(uow: UowDep, staff: StaffDep, incoming_id: int, status: str) -> presenters.IncomingOut:
    row = access.staff_incoming(uow.session, staff, incoming_id)
    discarded = actions.incoming_emails.discard_incoming(uow, staff, row, status)
    return presenters.IncomingOut.model_validate(discarded)


@incoming_router.post(
    "/{incoming_id}/delete", response_model=presenters.IncomingOut, summary="Delete"
)
def delete_incoming(incoming_id: int, uow: UowDep, staff: StaffDep):
    return _discard(uow, staff, incoming_id, "deleted")


@incoming_router.post("/{incoming_id}/spam", response_model=presenters.IncomingOut, summary="Spam")
def spam_incoming(incoming_id: int, uow: UowDep, staff: StaffDep):
    return _discard(uow, staff, incoming_id, "spam")
