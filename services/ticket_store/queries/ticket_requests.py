"""A client's ticket requests (web/API tickets waiting for the incident ledger)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Client, Ticket
from services.ticket_store.models_ticket_requests import RequestState, TicketRequest


def client_request(session: Session, client: Client, request_id: str) -> TicketRequest:
    """The client's own request (another's is as unknown as a missing one)."""
    row = session.get(TicketRequest, request_id)
    if row is None or row.client_id != client.id:
        raise NotFound(f"ticket request {request_id}")
    return row


def opened_ticket(session: Session, row: TicketRequest) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.id == row.ticket_id))


def await_decision(
    transaction: Callable[[], AbstractContextManager[Session]],
    request_id: str,
    wait_s: float,
    poll_s: float = 0.1,
) -> str:
    """The request's state once decided, or "pending" after `wait_s`: each look is its own
    short transaction (`Database.transaction`: the consumer's commit must be visible, and
    nothing is held between looks)."""
    deadline = time.monotonic() + wait_s
    while True:
        with transaction() as s:
            state = s.scalar(select(TicketRequest.state).where(TicketRequest.id == request_id))
        if state != RequestState.PENDING or time.monotonic() >= deadline:
            return str(state)
        time.sleep(poll_s)
