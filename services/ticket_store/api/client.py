"""Clients: their own tickets only (`access.client_ticket`), new tickets in Support-center
departments under the incident rule, replies, ratings of staff replies, and closing."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile

from services.ticket_store import access, actions, presenters
from services.ticket_store.api import schemas
from services.ticket_store.api.deps import ClientDep, SessionDep, UowDep, current_client
from services.ticket_store.api.routes import created, message_routes
from services.ticket_store.api.uploads import store_uploads
from services.ticket_store.models import Client
from services.ticket_store.queries.ticket_lists import client_tickets
from services.ticket_store.unit_of_work import UnitOfWork

router = APIRouter(prefix="/client", tags=["client"])


@router.get(
    "/departments",
    response_model=list[presenters.SupportDepartmentOut],
    summary="Departments shown in the Support center, with incidents left where support is paid",
)
def departments(session: SessionDep, client: ClientDep):
    return presenters.support_departments_out(session, client)


@router.get("/tickets", response_model=list[presenters.ClientTicketOut], summary="My tickets")
def my_tickets(session: SessionDep, client: ClientDep):
    return [presenters.client_ticket_out(session, t) for t in client_tickets(session, client)]


@created(router, "/tickets", presenters.ClientTicketDetail, "Open a ticket")
def open_ticket(body: schemas.ClientTicketIn, uow: UowDep, client: ClientDep):
    """Uses an incident where support is paid."""
    ticket = actions.tickets.open_ticket_by_client(
        uow, client, body.department_id, body.subject, body.text
    )
    return presenters.client_ticket_detail(uow.session, ticket)


@router.get("/tickets/{number}", response_model=presenters.ClientTicketDetail, summary="My ticket")
def read_ticket(number: int, session: SessionDep, client: ClientDep):
    return presenters.client_ticket_detail(session, access.client_ticket(session, client, number))


def message(
    request: Request,
    uow: UnitOfWork,
    client: Client,
    number: int,
    text: str,
    files: list[UploadFile],
) -> presenters.ClientTicketDetail:
    ticket = access.client_ticket(uow.session, client, number)  # before any upload is stored
    attachments = store_uploads(request, files)
    actions.messages.client_message(uow, client, ticket, text, attachments=attachments)
    return presenters.client_ticket_detail(uow.session, ticket)


message_routes(
    router,
    "/tickets/{number}/messages",
    current_client,
    message,
    response_model=presenters.ClientTicketDetail,
    summary="Reply in my ticket",
)


@router.post("/tickets/{number}/close", response_model=presenters.ClientTicketOut, summary="Close")
def close(number: int, uow: UowDep, client: ClientDep):
    ticket = access.client_ticket(uow.session, client, number)
    actions.tickets.change_status(uow, ticket, "closed")
    return presenters.client_ticket_out(uow.session, ticket)


@router.post(
    "/tickets/{number}/messages/{message_id}/rating",
    response_model=presenters.RatingOut,
    summary="Rate a staff reply in my ticket (1–5, optional comment); rating again replaces it",
)
def rate_reply(
    number: int, message_id: int, body: schemas.RatingIn, uow: UowDep, client: ClientDep
):
    ticket = access.client_ticket(uow.session, client, number)
    rating = actions.ratings.rate_reply(
        uow, client, message_id, body.score, body.comment, ticket_number=ticket.number
    )
    return presenters.rating_out(rating, ticket.number)
