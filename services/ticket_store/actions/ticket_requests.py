"""A client's new ticket from the web or the API, and the incident ledger's answer.

One ledger for every channel (issue 12): the router's. In a paid department the
store does not charge: it keeps a `TicketRequest` and publishes `TicketRequested`
on tickets.requests in the same transaction (outbox); the router settles it with
that client's mail, in one order per client, and answers `TicketDecided` on
tickets.commands, which `apply_decision` turns into the ticket (charged) or a
refusal with the department's notice. The store's own balance is only a view: it
may refuse at once when it shows no incident left (it lags the ledger, so at worst
a grant seconds old is not seen yet), but it never charges.

May import: `unit_of_work`, `domain`, `queries`, the store's models, `schemas`,
`actions.events`, `actions.tickets`.
"""

from __future__ import annotations

import logging
import uuid

from schemas.ticket_requests import TicketDecided, TicketRequested
from schemas.ticket_tag import new_ticket_id
from services.ticket_store.actions.tickets import new_ticket
from services.ticket_store.domain.errors import InsufficientIncidents, NotFound
from services.ticket_store.domain.incidents import incident_balance, lock_client
from services.ticket_store.models import Client, Department, Message, Ticket, utcnow
from services.ticket_store.models_ticket_requests import RequestState, TicketRequest
from services.ticket_store.queries.clients import client_primary_email
from services.ticket_store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def open_ticket_by_client(
    uow: UnitOfWork, client: Client, department_id: int, subject: str, text: str
) -> Ticket | TicketRequest:
    """A client's ticket from the web or the API: opened now where support is free; in a
    paid department a pending `TicketRequest` that the incident ledger decides."""
    dep = _shown(uow, department_id, text)
    if dep.per_incident:
        return ask_ledger(uow, client, dep, subject, text)
    subject = subject.strip() or "(no subject)"
    ticket = _open(uow, client, dep.id, new_ticket_id(), subject, text, charged=False)
    uow.audit("ticket.open", "ticket", ticket.number, charged=False)
    return ticket


def ask_ledger(
    uow: UnitOfWork, client: Client, dep: Department | None, subject: str, text: str
) -> TicketRequest:
    """The request, and its `TicketRequested` on the outbox (published after commit)."""
    dep = _shown(uow, dep.id if dep else 0, text)
    subject = subject.strip() or "(no subject)"
    lock_client(uow.session, client.id)  # two web requests of one client see each other
    if incident_balance(uow.session, client.id) < 1:  # the view says no: no need to ask
        raise InsufficientIncidents(dep.insufficient_notice)
    row = TicketRequest(
        id=uuid.uuid4().hex,
        client_id=client.id,
        department_id=dep.id,
        ticket_id=new_ticket_id(),
        subject=subject,
        text=text,
        state=RequestState.PENDING,
    )
    uow.session.add(row)
    uow.flush()
    asked = TicketRequested(
        request_id=row.id, client_id=client.id, department_id=dep.id, ticket_id=row.ticket_id
    )
    uow.emit(uow.topics.ticket_requests, str(client.id), asked)
    uow.audit("ticket.request", "client", client.id, request=row.id, department=dep.id)
    return row


def apply_decision(uow: UnitOfWork, cmd: TicketDecided) -> Ticket | TicketRequest | None:
    """The ledger's answer; a repeat (or an answer to a request we never made) is a no-op."""
    row = uow.session.get(TicketRequest, cmd.request_id)
    if row is None:
        log.warning("decision for unknown ticket request %s skipped", cmd.request_id)
        return None
    if row.state != RequestState.PENDING:
        return None
    row.reason, row.decided_at = cmd.reason, utcnow()
    client = uow.session.get(Client, row.client_id)
    if cmd.opened and client is not None:
        row.state = RequestState.OPENED
        with uow.caused_by(f"request:{row.id}"):
            ticket = _open(
                uow, client, row.department_id, row.ticket_id, row.subject, row.text,
                charged=cmd.charged,
            )  # fmt: skip
        uow.audit("ticket.open", "ticket", ticket.number, charged=cmd.charged, request=row.id)
        return ticket
    dep = uow.session.get(Department, row.department_id)
    row.state = RequestState.REFUSED
    row.notice = (dep.insufficient_notice if dep else "") or "insufficient support incidents"
    uow.audit("ticket.refused", "client", row.client_id, request=row.id, reason=cmd.reason)
    return row


def _shown(uow: UnitOfWork, department_id: int, text: str) -> Department:
    """A department of the Support center, and a message that says something."""
    dep = uow.session.get(Department, department_id)
    if dep is None or not dep.show_in_support_center:
        raise NotFound(f"department {department_id}")
    if not text.strip():
        raise ValueError("the message is empty")
    return dep


def _open(
    uow: UnitOfWork,
    client: Client,
    department_id: int,
    ticket_id: str,
    subject: str,
    text: str,
    *,
    charged: bool,
) -> Ticket:
    return new_ticket(
        uow,
        ticket_id=ticket_id,
        department_id=department_id,
        client_id=client.id,
        subject=subject,
        reply_to=client_primary_email(client),
        first=Message(direction="in", author_client_id=client.id, text=text),
        charged=charged,
    )
