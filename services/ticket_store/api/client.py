"""Clients: their own tickets only (`access.client_ticket`), new tickets in Support-center
departments under the incident rule, replies, ratings of staff replies, and closing."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse

from services.ticket_store import access, actions, presenters
from services.ticket_store.api import schemas
from services.ticket_store.api.deps import ClientDep, SessionDep, UowDep, current_client
from services.ticket_store.api.routes import message_routes
from services.ticket_store.api.uploads import store_uploads
from services.ticket_store.domain.errors import InsufficientIncidents
from services.ticket_store.models import Client, Department, Ticket
from services.ticket_store.models_ticket_requests import RequestState
from services.ticket_store.queries.ticket_lists import client_tickets
from services.ticket_store.queries.ticket_requests import (
    await_decision,
    client_request,
    opened_ticket,
)
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


@router.post(
    "/tickets",
    response_model=presenters.ClientTicketDetail,
    status_code=201,
    summary="Open a ticket",
    responses={
        202: {
            "model": presenters.TicketRequestOut,
            "description": "Paid support: the incident check is still under way; "
            "GET the Location until it says opened or refused",
        }
    },
)
def open_ticket(body: schemas.ClientTicketIn, request: Request, uow: UowDep, client: ClientDep):
    """Uses an incident where support is paid: the router's incident ledger (the one for
    mail too) decides; the answer waits for it up to `ticket_decision_wait_s` (201 with
    the ticket, 402 with the department's notice), else 202 with where to ask again."""
    dep = uow.session.get(Department, body.department_id)
    if dep is None or not dep.per_incident:  # free (or unknown: the action refuses it)
        ticket = actions.ticket_requests.open_ticket_by_client(
            uow, client, body.department_id, body.subject, body.text
        )
        assert isinstance(ticket, Ticket)
        return presenters.client_ticket_detail(uow.session, ticket)
    db, settings = request.app.state.db, request.app.state.settings
    # Committed before the wait (the outbox relay and the ledger's answer need it); the
    # request's own transaction has only read so far and writes nothing after.
    with db.unit_of_work(actor=uow.actor) as asking:
        asking.cause = uow.cause
        mine = asking.session.get(Client, client.id)
        assert mine is not None
        row = actions.ticket_requests.ask_ledger(
            asking, mine, asking.session.get(Department, dep.id), body.subject, body.text
        )
        request_id = row.id
    state = await_decision(db.transaction, request_id, settings.ticket_decision_wait_s)
    with db.transaction() as s:  # a fresh look: the answer was committed by the consumer
        row = client_request(s, client, request_id)
        ticket = opened_ticket(s, row)
        if state == RequestState.OPENED and ticket is not None:
            return presenters.client_ticket_detail(s, ticket)
        if state == RequestState.REFUSED:
            raise InsufficientIncidents(row.notice)
        out = presenters.ticket_request_out(s, row)
    location = f"{request.url.path.rsplit('/tickets', 1)[0]}/ticket-requests/{request_id}"
    return JSONResponse(out.model_dump(mode="json"), 202, headers={"Location": location})


@router.get(
    "/ticket-requests/{request_id}",
    response_model=presenters.TicketRequestOut,
    summary="A ticket I opened in a paid department: pending, opened (its number) or refused",
)
def read_ticket_request(request_id: str, session: SessionDep, client: ClientDep):
    return presenters.ticket_request_out(session, client_request(session, client, request_id))


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
