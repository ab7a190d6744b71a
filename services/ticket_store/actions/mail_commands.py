"""What the store's consumer applies from the router, the mailer and billing: tickets
and messages from mail, incoming emails, outcomes, delivery reports, external grants.

Every function is idempotent on the email id (or outbound id, grant id): a
redelivered record returns None and changes nothing.
May import: `unit_of_work`, `domain`, the store's models, `schemas`,
`actions.events`, `actions.tickets`, `actions.messages`.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from schemas.events import AddMessage, IncidentsGranted, MailContent, OpenTicket, Outcome
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store.actions.events import ticket_opened
from services.ticket_store.actions.messages import attachment_rows
from services.ticket_store.actions.tickets import back_to_staff, emit_message_added
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.incidents import is_web_charge
from services.ticket_store.domain.text import normalise_email, sanitise_html
from services.ticket_store.models import (
    Client,
    IncidentGrant,
    IncomingEmail,
    MailOutcome,
    Message,
    Ticket,
    utcnow,
)
from services.ticket_store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def _message_from_content(content: MailContent, *, client_id: int | None) -> Message:
    msg = Message(
        direction="in",
        author_client_id=client_id,
        from_address=content.from_address,
        text=content.text,
        html=sanitise_html(content.html),
        email_message_id=content.message_id,
    )
    msg.attachments = attachment_rows(content.attachments)
    return msg


def open_ticket_from_mail(uow: UnitOfWork, cmd: OpenTicket) -> Ticket | None:
    """Idempotent on the email id: a redelivered command returns None and changes nothing."""
    session = uow.session
    if session.scalar(select(Ticket).where(Ticket.source_email_id == cmd.email_id)):
        return None
    if session.scalar(select(Ticket).where(Ticket.id == cmd.ticket_id)):
        return None
    ticket = Ticket(
        id=cmd.ticket_id,
        department_id=cmd.department_id,
        client_id=cmd.client_id,
        subject=cmd.content.subject,
        reply_to=normalise_email(cmd.content.from_address),
        gateway_id=cmd.gateway_id,
        source_email_id=cmd.email_id,
        charged=cmd.charged,
    )
    msg = _message_from_content(cmd.content, client_id=cmd.client_id)
    msg.source_email_id = cmd.email_id
    ticket.messages.append(msg)
    session.add(ticket)
    uow.flush()
    uow.emit(uow.topics.ticket_events, ticket.id, ticket_opened(ticket, cmd.email_id))
    emit_message_added(uow, ticket, msg)
    return ticket


def add_message_from_mail(uow: UnitOfWork, cmd: AddMessage) -> Message | None:
    """The client's mail joins their ticket; NotFound for a ticket the store does not have."""
    session = uow.session
    if session.scalar(select(Message).where(Message.source_email_id == cmd.email_id)):
        return None
    ticket = session.scalar(select(Ticket).where(Ticket.id == cmd.ticket_id))
    if ticket is None:
        raise NotFound(f"ticket {cmd.ticket_id}")
    msg = _message_from_content(cmd.content, client_id=cmd.client_id)
    msg.source_email_id = cmd.email_id
    ticket.messages.append(msg)
    ticket.updated_at = utcnow()
    uow.flush()
    emit_message_added(uow, ticket, msg)
    back_to_staff(uow, ticket)
    return msg


def record_incoming(uow: UnitOfWork, event: IncomingEmailEvent) -> IncomingEmail | None:
    """Mail from an unknown sender, for the Incoming emails section."""
    session = uow.session
    if session.scalar(select(IncomingEmail).where(IncomingEmail.email_id == event.email_id)):
        return None
    c = event.content
    row = IncomingEmail(
        email_id=event.email_id,
        gateway_id=event.gateway_id,
        department_id=event.department_id,
        from_address=c.from_address,
        from_name=c.from_name,
        subject=c.subject,
        text=c.text,
        html=sanitise_html(c.html),
        email_message_id=c.message_id,
        attachments=[a.model_dump() for a in c.attachments],
        automatic=event.automatic,
        reason=event.reason,
        received_at=c.received_at,
    )
    session.add(row)
    return row


def record_outcome(uow: UnitOfWork, outcome: Outcome) -> MailOutcome | None:
    """The router's decision on one raw email, kept for operators."""
    if uow.session.get(MailOutcome, outcome.email_id) is not None:
        return None
    row = MailOutcome(
        email_id=outcome.email_id,
        gateway_id=outcome.gateway_id,
        decision=outcome.decision.value,
        rule=outcome.rule,
        reason=outcome.reason,
        ticket_id=outcome.ticket_id,
        client_id=outcome.client_id,
        automatic=outcome.automatic,
        decided_at=outcome.decided_at,
    )
    uow.session.add(row)
    return row


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
