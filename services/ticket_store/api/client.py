"""Clients: their own tickets only, new tickets in Support-center departments under the
incident rule, replies and closing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy import select

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import ClientDep, SessionDep, client_ticket
from services.ticket_store.api.uploads import store_uploads
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Department, Ticket
from services.ticket_store.unit_of_work import UnitOfWork

router = APIRouter(prefix="/client", tags=["client"])


@router.get(
    "/departments",
    response_model=list[views.SupportDepartmentOut],
    summary="Departments shown in the Support center, with incidents left where support is paid",
)
def departments(session: SessionDep, client: ClientDep):
    balance = incident_balance(session, client.id)
    deps = session.scalars(
        select(Department)
        .where(Department.show_in_support_center.is_(True))
        .order_by(Department.id)
    )
    return [
        views.SupportDepartmentOut(
            id=d.id,
            name=d.name,
            per_incident=d.per_incident,
            incidents_left=balance if d.per_incident else None,
        )
        for d in deps
    ]


@router.get("/tickets", response_model=list[views.ClientTicketOut], summary="My tickets")
def my_tickets(session: SessionDep, client: ClientDep):
    rows = session.scalars(
        select(Ticket).where(Ticket.client_id == client.id).order_by(Ticket.number.desc())
    ).all()
    return [views.client_ticket_out(session, t) for t in rows]


@router.post(
    "/tickets",
    response_model=views.ClientTicketDetail,
    status_code=201,
    summary="Open a ticket (uses an incident where support is paid)",
)
def open_ticket(
    body: views.ClientTicketIn, request: Request, session: SessionDep, client: ClientDep
):
    ticket = actions.tickets.open_ticket_by_client(
        UnitOfWork(session, request.app.state.settings.topics, f"client:{client.id}"),
        client,
        body.department_id,
        body.subject,
        body.text,
    )
    return views.client_ticket_detail(session, ticket)


@router.get("/tickets/{number}", response_model=views.ClientTicketDetail, summary="My ticket")
def read_ticket(number: int, session: SessionDep, client: ClientDep):
    return views.client_ticket_detail(session, client_ticket(session, client, number))


@router.post(
    "/tickets/{number}/messages",
    response_model=views.ClientTicketDetail,
    status_code=201,
    summary="Reply in my ticket",
)
def reply(
    number: int, body: views.TextIn, request: Request, session: SessionDep, client: ClientDep
):
    ticket = client_ticket(session, client, number)
    actions.messages.client_message(
        UnitOfWork(session, request.app.state.settings.topics, f"client:{client.id}"),
        client,
        ticket,
        body.text,
    )
    return views.client_ticket_detail(session, ticket)


@router.post(
    "/tickets/{number}/messages/with-files",
    response_model=views.ClientTicketDetail,
    status_code=201,
    summary="Reply in my ticket with attached files (multipart form: text, files)",
)
def reply_with_files(
    number: int,
    request: Request,
    session: SessionDep,
    client: ClientDep,
    text: Annotated[str, Form(min_length=1, max_length=200_000)],
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI's form default
):
    ticket = client_ticket(session, client, number)
    attachments = store_uploads(request, files)
    actions.messages.client_message(
        UnitOfWork(session, request.app.state.settings.topics, f"client:{client.id}"),
        client,
        ticket,
        text,
        attachments=attachments,
    )
    return views.client_ticket_detail(session, ticket)


@router.post("/tickets/{number}/close", response_model=views.ClientTicketOut, summary="Close")
def close(number: int, request: Request, session: SessionDep, client: ClientDep):
    ticket = client_ticket(session, client, number)
    actions.tickets.change_status(
        UnitOfWork(session, request.app.state.settings.topics, f"client:{client.id}"),
        ticket,
        "closed",
    )
    return views.client_ticket_out(session, ticket)


@router.post(
    "/tickets/{number}/messages/{message_id}/rating",
    response_model=views.RatingOut,
    summary="Rate a staff reply in my ticket (1–5, optional comment); rating again replaces it",
)
def rate_reply(
    number: int,
    message_id: int,
    body: views.RatingIn,
    request: Request,
    session: SessionDep,
    client: ClientDep,
):
    ticket = client_ticket(session, client, number)
    rating = actions.ratings.rate_reply(
        UnitOfWork(session, request.app.state.settings.topics, f"client:{client.id}"),
        client,
        message_id,
        body.score,
        body.comment,
        ticket_number=ticket.number,
    )
    return views.RatingOut(
        message_id=rating.message_id,
        ticket_number=ticket.number,
        score=rating.score,
        comment=rating.comment,
        rated_at=rating.rated_at,
    )
