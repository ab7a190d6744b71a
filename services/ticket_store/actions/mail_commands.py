"""What the store's consumer applies from the router, the mailer and billing: tickets
and messages from mail, incoming emails, outcomes, delivery reports, external grants.

Every function is idempotent on the email id (or outbound id, grant id): a
redelivered record returns None and changes nothing.
May import: `unit_of_work`, `bulk`, `domain`, the store's models, `schemas`,
`actions.events`, `actions.tickets`, `actions.messages`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import select

from schemas.events import (
    AddMessage,
    IncidentsGranted,
    MailContent,
    MessageAdded,
    OpenTicket,
    Outcome,
    TicketOpened,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store.actions import mail_copies, replayed_mail
from services.ticket_store.actions.events import delivery_result, message_added, ticket_opened
from services.ticket_store.actions.messages import attachment_rows
from services.ticket_store.actions.tickets import client_answer, emit_message_added
from services.ticket_store.bulk import among, insert_rows
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.incidents import is_web_charge
from services.ticket_store.domain.recipients import cc_list, clients_addresses, gateway_addresses
from services.ticket_store.domain.text import normalise_email, sanitise_html
from services.ticket_store.models import (
    Client,
    IncidentGrant,
    IncomingEmail,
    MailOutcome,
    Message,
    MessageAttachment,
    Ticket,
    TicketStatus,
    utcnow,
)
from services.ticket_store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# An event that carries the raw email's id: an incoming email or an outcome.
_E = TypeVar("_E", IncomingEmailEvent, Outcome)


def _content_columns(content: MailContent) -> dict[str, object]:
    """The mail's sender, text and To and Cc as messages and incoming emails store them,
    its HTML sanitised."""
    return {
        "from_address": content.from_address,
        "from_name": content.from_name[:320],
        "to_addresses": list(content.to_addresses),
        "cc_addresses": list(content.cc_addresses),
        "text": content.text,
        "html": sanitise_html(content.html),
        "email_message_id": content.message_id,
    }


def _message_columns(cmd: OpenTicket | AddMessage) -> dict[str, object]:
    """The client's mail as their message (a Cc'd person's, as theirs: no client author),
    with its To and Cc: one mapping for the ORM and the bulk INSERT."""
    by_cc = isinstance(cmd, AddMessage) and cmd.author == "cc"
    return {
        "direction": "in",
        "author_client_id": None if by_cc else cmd.client_id,
        "source_email_id": cmd.email_id,
        **_content_columns(cmd.content),
    }


def _first_ccs(uow: UnitOfWork, cmds: Sequence[OpenTicket]) -> dict[str, tuple[str, ...]]:
    """The Cc list each new ticket starts with, by email id (two queries for the batch)."""
    gateways = gateway_addresses(uow.session)
    clients = clients_addresses(uow.session, {c.client_id for c in cmds})
    return {
        c.email_id: cc_list(
            [*c.content.to_addresses, *c.content.cc_addresses],
            gateways | clients[c.client_id] | {normalise_email(c.content.from_address)},
        )
        for c in cmds
    }


def _ticket_columns(cmd: OpenTicket) -> dict[str, object]:
    """The ticket a command opens: one mapping for the ORM and the bulk INSERT."""
    return {
        "id": cmd.ticket_id,
        "department_id": cmd.department_id,
        "client_id": cmd.client_id,
        "subject": cmd.content.subject,
        "reply_to": normalise_email(cmd.content.from_address),
        "gateway_id": cmd.gateway_id,
        "source_email_id": cmd.email_id,
        "charged": cmd.charged,
    }


class _TicketCopy(NamedTuple):
    id: str
    number: int
    department_id: int
    client_id: int
    subject: str


class _MessageCopy(NamedTuple):
    id: int
    direction: str
    source_email_id: str | None
    email_message_id: str


def _cause(cmd: OpenTicket | AddMessage) -> str:
    return f"email:{cmd.email_id}"


def _message_from_mail(cmd: OpenTicket | AddMessage) -> Message:
    msg = Message(**_message_columns(cmd))
    msg.attachments = attachment_rows(cmd.content.attachments)
    return msg


def _ticket_from_command(cmd: OpenTicket) -> tuple[Ticket, Message]:
    ticket = Ticket(**_ticket_columns(cmd))
    msg = _message_from_mail(cmd)
    ticket.messages.append(msg)
    return ticket, msg


def open_ticket_from_mail(uow: UnitOfWork, cmd: OpenTicket) -> Ticket | None:
    """Idempotent on the email id: a redelivered command returns None and changes nothing."""
    session = uow.session
    if session.scalar(select(Ticket).where(Ticket.source_email_id == cmd.email_id)):
        return None
    if session.scalar(select(Ticket).where(Ticket.id == cmd.ticket_id)):
        return None
    ticket, msg = _ticket_from_command(cmd)
    session.add(ticket)
    uow.flush()
    with uow.caused_by(_cause(cmd)):
        uow.ticket_event(ticket, ticket_opened(ticket, cmd.email_id))
        emit_message_added(uow, ticket, msg)
    replayed_mail.settle_incoming(uow, {cmd.email_id: ticket.number})
    return ticket


def open_tickets_from_mail(uow: UnitOfWork, cmds: Sequence[OpenTicket]) -> int:
    """`open_ticket_from_mail` for many commands, same rows and events in the same order;
    returns how many tickets were opened (repeats are skipped).

    Bulk: two queries for what exists, one executemany INSERT per table and one
    query each for the generated ticket numbers and message ids. The ORM's flush
    would fetch those per row (SQLite) or build one huge statement (psycopg). The
    INSERTs go to the tables (Core): the ORM's bulk path costs more per row than the
    database does, and every column default is the table's anyway.
    """
    session = uow.session
    emails = {c.email_id for c in cmds}
    ids = {c.ticket_id for c in cmds}
    done = set(
        session.scalars(
            select(Ticket.source_email_id).where(among(session, Ticket.source_email_id, emails))
        )
    )
    taken = set(session.scalars(select(Ticket.id).where(among(session, Ticket.id, ids))))
    new: list[OpenTicket] = []
    for cmd in cmds:
        if cmd.email_id not in done and cmd.ticket_id not in taken:
            done.add(cmd.email_id)
            taken.add(cmd.ticket_id)
            new.append(cmd)
    if not new:
        return 0
    now = utcnow()
    insert_rows(session, Ticket.__table__, [_ticket_row(cmd, now) for cmd in new])
    numbers: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Ticket.id, Ticket.number).where(
                among(session, Ticket.id, [c.ticket_id for c in new])
            )
        ).all()
    )
    insert_rows(
        session, Message.__table__, [_message_row(cmd, numbers[cmd.ticket_id], now) for cmd in new]
    )
    message_ids: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Message.source_email_id, Message.id).where(
                among(session, Message.source_email_id, [c.email_id for c in new])
            )
        ).all()
    )
    files = [
        {"message_id": message_ids[cmd.email_id], "filename": a.filename,
         "content_type": a.content_type, "size": a.size, "blob_ref": a.blob_ref}
        for cmd in new
        for a in cmd.content.attachments
    ]  # fmt: skip
    insert_rows(session, MessageAttachment.__table__, files)
    topic = uow.topics.ticket_events
    first_cc = _first_ccs(uow, new)
    events: list[tuple[str, str, TicketOpened | MessageAdded]] = []
    for cmd in new:
        # Plain copies of the rows for the event builders, and the events built stamped:
        # sequences 1 and 2 (the rows went in with event_sequence 2, `_ticket_row`).
        ticket = _TicketCopy(
            cmd.ticket_id, numbers[cmd.ticket_id], cmd.department_id, cmd.client_id,
            cmd.content.subject,
        )  # fmt: skip
        msg = _MessageCopy(message_ids[cmd.email_id], "in", cmd.email_id, cmd.content.message_id)
        stamp = {"actor": uow.actor, "cause": _cause(cmd)}
        opened = ticket_opened(ticket, cmd.email_id, sequence=1, **stamp)
        added = message_added(ticket, msg, first_cc[cmd.email_id], sequence=2, **stamp)
        events += [(topic, ticket.id, opened), (topic, ticket.id, added)]
    uow.emit_many(events)
    replayed_mail.settle_incoming(uow, {c.email_id: numbers[c.ticket_id] for c in new})
    return len(new)


def _ticket_row(cmd: OpenTicket, now: datetime) -> dict[str, object]:
    return _ticket_columns(cmd) | {
        "status": TicketStatus.NEW.value,
        "event_sequence": 2,  # TicketOpened and MessageAdded
        "created_at": now,
        "updated_at": now,
    }


def _message_row(cmd: OpenTicket, number: int, now: datetime) -> dict[str, object]:
    return _message_columns(cmd) | {"ticket_number": number, "created_at": now}


def add_message_from_mail(uow: UnitOfWork, cmd: AddMessage) -> Message | None:
    """The client's (or a Cc'd person's) mail joins the ticket; NotFound for a ticket the
    store does not have."""
    session = uow.session
    if session.scalar(select(Message).where(Message.source_email_id == cmd.email_id)):
        return None
    ticket = session.scalar(select(Ticket).where(Ticket.id == cmd.ticket_id))
    if ticket is None:
        raise NotFound(f"ticket {cmd.ticket_id}")
    if mail_copies.on_ticket(session, ticket.number, cmd.content.message_id):
        return None  # the same mail through another gateway
    msg = _message_from_mail(cmd)
    with uow.caused_by(_cause(cmd)):
        client_answer(uow, ticket, msg)
    replayed_mail.settle_incoming(uow, {cmd.email_id: ticket.number})
    return msg


def _incoming_row(event: IncomingEmailEvent) -> dict[str, object]:
    c = event.content
    return dict(
        email_id=event.email_id,
        gateway_id=event.gateway_id,
        department_id=event.department_id,
        subject=c.subject,
        attachments=[a.model_dump() for a in c.attachments],
        automatic=event.automatic,
        reason=event.reason,
        received_at=c.received_at,
        **_content_columns(c),
    )


def record_incoming(uow: UnitOfWork, event: IncomingEmailEvent) -> IncomingEmail | None:
    """Mail from an unknown sender, for the Incoming emails section."""
    session = uow.session
    if session.scalar(select(IncomingEmail).where(IncomingEmail.email_id == event.email_id)):
        return None
    if not mail_copies.new_incoming(session, [event]):
        return None  # the same mail through another gateway
    row = IncomingEmail(**_incoming_row(event))
    session.add(row)
    return row


def record_incoming_many(uow: UnitOfWork, events: Sequence[IncomingEmailEvent]) -> int:
    """`record_incoming` for many; returns how many were new."""
    events = mail_copies.new_incoming(uow.session, events)
    return _insert_new(uow, IncomingEmail, events, lambda e: _incoming_row(e) | {"status": "new"})


def record_outcome(uow: UnitOfWork, outcome: Outcome) -> MailOutcome | None:
    """The router's decision on one raw email, kept for operators."""
    if outcome.replay_id:
        replayed_mail.replace_outcomes(uow, [outcome])
        return None
    if uow.session.get(MailOutcome, outcome.email_id) is not None:
        return None
    row = MailOutcome(**replayed_mail.outcome_row(outcome))
    uow.session.add(row)
    return row


def record_outcomes(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> int:
    """`record_outcome` for many; returns how many were new (or replayed)."""
    replayed = replayed_mail.replace_outcomes(uow, [o for o in outcomes if o.replay_id])
    first = [o for o in outcomes if not o.replay_id]
    return replayed + (
        _insert_new(uow, MailOutcome, first, replayed_mail.outcome_row) if first else 0
    )


def _insert_new(
    uow: UnitOfWork,
    table: type[IncomingEmail] | type[MailOutcome],
    events: Sequence[_E],
    row: Callable[[_E], dict[str, object]],
) -> int:
    """One query for the email ids already stored, one INSERT for the rest (a repeat
    within the batch counts once); returns how many rows went in."""
    have = set(
        uow.session.scalars(
            select(table.email_id).where(
                among(uow.session, table.email_id, {e.email_id for e in events})
            )
        )
    )
    rows = []
    for event in events:
        if event.email_id not in have:
            have.add(event.email_id)
            rows.append(row(event))
    insert_rows(uow.session, table.__table__, rows)
    return len(rows)


def record_delivery(
    uow: UnitOfWork, outbound_id: str, *, status: str, detail: str = ""
) -> Message | None:
    """The mailer's report on a staff reply; a repeat or an unknown id changes nothing."""
    msg = uow.session.scalar(select(Message).where(Message.outbound_id == outbound_id))
    if msg is None or msg.delivery_status == status:
        return None
    if msg.delivery_status == "sent":  # a late failure report never undoes a delivery
        return None
    msg.delivery_status = status
    msg.delivery_detail = detail
    msg.delivered_at = utcnow() if status == "sent" else None
    with uow.caused_by(f"outbound:{outbound_id}"):
        uow.ticket_event(msg.ticket, delivery_result(msg.ticket, msg))
    return msg


def record_external_grant(uow: UnitOfWork, grant: IncidentsGranted) -> IncidentGrant | None:
    """A grant read back from billing.incidents (external billing, or our own echo).

    Idempotent on the grant id, so the store's own grants come back as no-ops;
    web-ticket charges are already counted by their ticket; unknown clients are
    skipped (billing may know clients this support center does not).
    """
    session = uow.session
    if is_web_charge(grant.grant_id):
        return None
    if session.scalar(select(IncidentGrant).where(IncidentGrant.grant_id == grant.grant_id)):
        return None
    if session.get(Client, grant.client_id) is None:
        log.warning(
            "incident grant %s for unknown client %s skipped", grant.grant_id, grant.client_id
        )
        return None
    row = IncidentGrant(
        grant_id=grant.grant_id, client_id=grant.client_id, amount=grant.amount, reason=grant.reason
    )
    session.add(row)
    uow.audit("incidents.grant", "client", grant.client_id, actor="billing", amount=grant.amount)
    return row
