"""Staff work: tickets of their departments, replies, notes, pre-defined replies, incoming emails.

Every read and write of a ticket or an incoming email first checks that the
staff member works in its department (seed: John handles Technical only,
Gary handles Technical and Sales). Administrators are no exception: ticket
access comes from department membership alone.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from sqlalchemy import String, cast, or_, select

from services.ticket_store import actions, queries
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep, StaffDep, staff_ticket
from services.ticket_store.api.uploads import store_uploads
from services.ticket_store.domain.replies import fill_placeholders
from services.ticket_store.models import (
    Client,
    ClientEmail,
    IncomingEmail,
    PredefinedReply,
    Ticket,
)
from services.ticket_store.unit_of_work import UnitOfWork

router = APIRouter(tags=["staff: tickets"])
incoming_router = APIRouter(prefix="/incoming-emails", tags=["staff: incoming emails"])


@router.get("/tickets", response_model=list[views.TicketOut], summary="Tickets of my departments")
def list_tickets(
    session: SessionDep,
    staff: StaffDep,
    status: list[views.StatusName] | None = Query(None),
    department_id: int | None = None,
    assigned: Literal["me", "nobody"] | None = None,
    q: str | None = Query(
        None, max_length=200, description="subject, client name or email, number"
    ),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    deps = queries.staff.staff_department_ids(staff)
    if department_id is not None:
        if department_id not in deps:
            raise HTTPException(403, f"you do not work in department {department_id}")
        deps = {department_id}
    query = select(Ticket).where(Ticket.department_id.in_(deps))
    if status:
        query = query.where(Ticket.status.in_(status))
    if assigned == "me":
        query = query.where(Ticket.assigned_staff_id == staff.id)
    elif assigned == "nobody":
        query = query.where(Ticket.assigned_staff_id.is_(None))
    if q:
        like = f"%{q.strip().lower()}%"
        clients = select(ClientEmail.client_id).where(ClientEmail.email.like(like))
        named = select(Client.id).where(Client.name.ilike(like))
        query = query.where(
            or_(
                Ticket.subject.ilike(like),
                Ticket.client_id.in_(clients),
                Ticket.client_id.in_(named),
                cast(Ticket.number, String) == q.strip().lstrip("#"),
                Ticket.id == q.strip().upper().strip("[#]"),
            )
        )
    query = query.order_by(Ticket.updated_at.desc(), Ticket.number.desc())
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return [views.ticket_out(session, t) for t in rows]


@router.get(
    "/tickets/{number}", response_model=views.TicketDetail, summary="A ticket and its thread"
)
def read_ticket(number: int, session: SessionDep, staff: StaffDep):
    return views.ticket_detail(session, staff_ticket(session, staff, number))


@router.post(
    "/tickets/{number}/replies",
    response_model=views.MessageOut,
    status_code=201,
    summary="Reply to the client (sent by email)",
)
def reply(number: int, body: views.TextIn, request: Request, session: SessionDep, staff: StaffDep):
    return _reply(request, session, staff, number, body.text)


def _reply(
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    number: int,
    text: str,
    files: list[UploadFile] | None = None,
) -> views.MessageOut:
    ticket = staff_ticket(session, staff, number)  # before any upload is stored
    settings = request.app.state.settings
    msg = actions.messages.staff_reply(
        UnitOfWork(session, settings.topics, f"staff:{staff.id}"),
        staff,
        ticket,
        text,
        message_id_domain=settings.message_id_domain,
        attachments=store_uploads(request, files or []),
    )
    return views.message_out(session, msg, for_staff=True)


@router.post(
    "/tickets/{number}/replies/with-files",
    response_model=views.MessageOut,
    status_code=201,
    summary="Reply to the client with attached files (multipart form: text, files)",
)
def reply_with_files(
    number: int,
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    text: Annotated[str, Form(min_length=1, max_length=200_000)],
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI's form default
):
    return _reply(request, session, staff, number, text, files)


@router.post(
    "/tickets/{number}/notes",
    response_model=views.MessageOut,
    status_code=201,
    summary="Add an internal note (never shown to the client)",
)
def note(number: int, body: views.TextIn, request: Request, session: SessionDep, staff: StaffDep):
    ticket = staff_ticket(session, staff, number)
    msg = actions.messages.add_note(
        UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
        staff,
        ticket,
        body.text,
    )
    return views.message_out(session, msg, for_staff=True)


@router.post("/tickets/{number}/assign", response_model=views.TicketOut, summary="Assign to me")
def assign(number: int, request: Request, session: SessionDep, staff: StaffDep):
    ticket = staff_ticket(session, staff, number)
    actions.tickets.assign_to_me(
        UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"), staff, ticket
    )
    return views.ticket_out(session, ticket)


@router.post("/tickets/{number}/status", response_model=views.TicketOut, summary="Change status")
def set_status(
    number: int, body: views.StatusIn, request: Request, session: SessionDep, staff: StaffDep
):
    ticket = staff_ticket(session, staff, number)
    actions.tickets.change_status(
        UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
        ticket,
        body.status,
    )
    return views.ticket_out(session, ticket)


@router.post("/tickets/{number}/close", response_model=views.TicketOut, summary="Close")
def close(number: int, request: Request, session: SessionDep, staff: StaffDep):
    ticket = staff_ticket(session, staff, number)
    actions.tickets.change_status(
        UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
        ticket,
        "closed",
    )
    return views.ticket_out(session, ticket)


# ------------------------------------------------------------------ pre-defined replies


@router.get(
    "/predefined-replies",
    response_model=list[views.ReplyOut],
    tags=["staff: pre-defined replies"],
    summary="Pre-defined replies available to me",
)
def my_replies(session: SessionDep, staff: StaffDep):
    return [views.reply_out(r) for r in queries.replies.replies_for(session, staff)]


@router.get(
    "/tickets/{number}/predefined-replies",
    response_model=list[views.FilledReplyOut],
    tags=["staff: pre-defined replies"],
    summary="The Auto-reply window: replies for this ticket, placeholders filled",
)
def ticket_replies(number: int, session: SessionDep, staff: StaffDep):
    ticket = staff_ticket(session, staff, number)
    values = queries.replies.reply_placeholders(session, ticket, staff)
    return [
        views.FilledReplyOut(
            **views.reply_out(r).model_dump(), filled_text=fill_placeholders(r.text, values)
        )
        for r in queries.replies.replies_for(session, staff, ticket.department_id)
    ]


@router.post(
    "/tickets/{number}/predefined-replies/{reply_id}/send",
    response_model=views.MessageOut,
    status_code=201,
    tags=["staff: pre-defined replies"],
    summary="Send a pre-defined reply to the client",
)
def send_reply(number: int, reply_id: int, request: Request, session: SessionDep, staff: StaffDep):
    ticket = staff_ticket(session, staff, number)
    replies = queries.replies.replies_for(session, staff, ticket.department_id)
    available = {r.id: r for r in replies}
    chosen: PredefinedReply | None = available.get(reply_id)
    if chosen is None:
        raise HTTPException(404, f"pre-defined reply {reply_id} is not available to you here")
    text = fill_placeholders(
        chosen.text, queries.replies.reply_placeholders(session, ticket, staff)
    )
    msg = actions.messages.staff_reply(
        UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
        staff,
        ticket,
        text,
        message_id_domain=request.app.state.settings.message_id_domain,
        predefined_reply_id=chosen.id,
    )
    return views.message_out(session, msg, for_staff=True)


# ------------------------------------------------------------------ incoming emails


def _incoming(session: SessionDep, staff: StaffDep, incoming_id: int) -> IncomingEmail:
    row = session.get(IncomingEmail, incoming_id)
    if row is None:
        raise HTTPException(404, f"incoming email {incoming_id} does not exist")
    if not queries.staff.can_handle(staff, row.department_id):
        raise HTTPException(403, "this email came in for a department you do not work in")
    return row


@incoming_router.get("", response_model=list[views.IncomingOut], summary="Unknown senders' mail")
def list_incoming(
    session: SessionDep,
    staff: StaffDep,
    status: Literal["new", "converted", "deleted", "spam"] = "new",
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    rows = session.scalars(
        select(IncomingEmail)
        .where(
            IncomingEmail.department_id.in_(queries.staff.staff_department_ids(staff)),
            IncomingEmail.status == status,
        )
        .order_by(IncomingEmail.received_at.desc(), IncomingEmail.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [views.IncomingOut.model_validate(r) for r in rows]


@incoming_router.get("/{incoming_id}", response_model=views.IncomingDetail, summary="Read one")
def read_incoming(incoming_id: int, session: SessionDep, staff: StaffDep):
    return views.incoming_detail(_incoming(session, staff, incoming_id))


@incoming_router.post(
    "/{incoming_id}/convert",
    response_model=views.TicketOut,
    status_code=201,
    summary="Create a client from the sender and turn the mail into their ticket",
)
def convert(
    incoming_id: int,
    body: views.ConvertIn,
    request: Request,
    session: SessionDep,
    staff: StaffDep,
):
    row = _incoming(session, staff, incoming_id)
    ticket = actions.incoming_emails.convert_incoming(
        UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
        staff,
        row,
        client_name=body.client_name,
    )
    return views.ticket_out(session, ticket)


@incoming_router.post(
    "/{incoming_id}/attach",
    response_model=views.TicketOut,
    summary="Attach to an existing client (new ticket) or ticket (new message)",
)
def attach(
    incoming_id: int, body: views.AttachIn, request: Request, session: SessionDep, staff: StaffDep
):
    if (body.client_id is None) == (body.ticket_number is None):
        raise HTTPException(422, "give exactly one of client_id or ticket_number")
    row = _incoming(session, staff, incoming_id)
    uow = UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}")
    if body.ticket_number is not None:
        ticket = staff_ticket(session, staff, body.ticket_number)
        actions.incoming_emails.attach_incoming_to_ticket(uow, staff, row, ticket)
    else:
        assert body.client_id is not None
        ticket = actions.incoming_emails.attach_incoming_to_client(
            uow, staff, row, body.client_id, register_address=body.register_address
        )
    return views.ticket_out(session, ticket)


@incoming_router.post("/{incoming_id}/delete", response_model=views.IncomingOut, summary="Delete")
def delete_incoming(incoming_id: int, request: Request, session: SessionDep, staff: StaffDep):
    row = _incoming(session, staff, incoming_id)
    return views.IncomingOut.model_validate(
        actions.incoming_emails.discard_incoming(
            UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
            staff,
            row,
            "deleted",
        )
    )


@incoming_router.post("/{incoming_id}/spam", response_model=views.IncomingOut, summary="Spam")
def spam_incoming(incoming_id: int, request: Request, session: SessionDep, staff: StaffDep):
    row = _incoming(session, staff, incoming_id)
    return views.IncomingOut.model_validate(
        actions.incoming_emails.discard_incoming(
            UnitOfWork(session, request.app.state.settings.topics, f"staff:{staff.id}"),
            staff,
            row,
            "spam",
        )
    )
