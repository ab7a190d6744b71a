"""The store's service layer: every change to the support center goes through here.

Each function works inside the caller's unit of work (a Session in a
transaction) and writes the events others need to the outbox in the same
transaction. The consumer, the CLI and the API all call these functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas import codec
from schemas.events import (
    AddMessage,
    ClientEntry,
    DepartmentEntry,
    GatewayEntry,
    IncidentsGranted,
    MailContent,
    MessageAdded,
    OpenTicket,
    Outcome,
    TicketOpened,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store.models import (
    AuditEntry,
    Client,
    ClientEmail,
    Department,
    Gateway,
    IncidentGrant,
    IncomingEmail,
    MailOutcome,
    Message,
    MessageAttachment,
    OutboxEvent,
    Ticket,
)
from supportdesk.config import Topics


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def normalise_email(address: str) -> str:
    return address.strip().lower()


def _event_id() -> str:
    return uuid.uuid4().hex


def _outbox(session: Session, topic: str, key: str, value: bytes | None) -> None:
    session.add(OutboxEvent(topic=topic, key=key, value=value))


def audit(
    session: Session, actor: str, action: str, obj: str, obj_id: object, **details: object
) -> None:
    session.add(
        AuditEntry(
            actor=actor, action=action, object_type=obj, object_id=str(obj_id), details=details
        )
    )


# ------------------------------------------------------------------ departments


def department_entry(dep: Department) -> DepartmentEntry:
    return DepartmentEntry(
        department_id=dep.id,
        name=dep.name,
        per_incident=dep.per_incident,
        show_in_support_center=dep.show_in_support_center,
        insufficient_notice=dep.insufficient_notice,
    )


def publish_department(session: Session, topics: Topics, dep: Department) -> None:
    _outbox(session, topics.departments, str(dep.id), codec.dumps(department_entry(dep)))


def add_department(
    session: Session,
    topics: Topics,
    name: str,
    *,
    show_in_support_center: bool = False,
    per_incident: bool = False,
    insufficient_notice: str = "",
    actor: str = "system",
) -> Department:
    if session.scalar(select(Department).where(Department.name == name)):
        raise Conflict(f"a department named {name!r} exists")
    dep = Department(
        name=name,
        show_in_support_center=show_in_support_center,
        per_incident=per_incident,
        insufficient_notice=insufficient_notice,
    )
    session.add(dep)
    session.flush()
    publish_department(session, topics, dep)
    audit(session, actor, "department.add", "department", dep.id, name=name)
    return dep


# ------------------------------------------------------------------ clients


def add_client(
    session: Session, topics: Topics, name: str, emails: Iterable[str], *, actor: str = "system"
) -> Client:
    client = Client(name=name)
    session.add(client)
    session.flush()
    for email in emails:
        add_client_email(session, topics, client, email, actor=actor)
    audit(session, actor, "client.add", "client", client.id, name=name)
    return client


def add_client_email(
    session: Session, topics: Topics, client: Client, email: str, *, actor: str = "system"
) -> ClientEmail:
    address = normalise_email(email)
    if "@" not in address:
        raise ValueError(f"not an email address: {email!r}")
    if session.scalar(select(ClientEmail).where(ClientEmail.email == address)):
        raise Conflict(f"{address} is registered to a client already")
    entry = ClientEmail(client_id=client.id, email=address)
    session.add(entry)
    session.flush()
    value = ClientEntry(email=address, client_id=client.id, name=client.name)
    _outbox(session, topics.clients, address, codec.dumps(value))
    return entry


def remove_client_email(session: Session, topics: Topics, email: str) -> None:
    address = normalise_email(email)
    entry = session.scalar(select(ClientEmail).where(ClientEmail.email == address))
    if entry is None:
        raise NotFound(address)
    session.delete(entry)
    _outbox(session, topics.clients, address, None)  # tombstone


def grant_incidents(
    session: Session,
    topics: Topics,
    client_id: int,
    amount: int,
    *,
    reason: str = "",
    grant_id: str | None = None,
    actor: str = "system",
) -> IncidentGrant:
    if session.get(Client, client_id) is None:
        raise NotFound(f"client {client_id}")
    grant_id = grant_id or _event_id()
    existing = session.scalar(select(IncidentGrant).where(IncidentGrant.grant_id == grant_id))
    if existing is not None:
        return existing
    grant = IncidentGrant(grant_id=grant_id, client_id=client_id, amount=amount, reason=reason)
    session.add(grant)
    event = IncidentsGranted(grant_id=grant_id, client_id=client_id, amount=amount, reason=reason)
    _outbox(session, topics.incidents, str(client_id), codec.dumps(event))
    audit(session, actor, "incidents.grant", "client", client_id, amount=amount, reason=reason)
    return grant


# ------------------------------------------------------------------ gateways


def gateway_entry(gw: Gateway) -> GatewayEntry:
    return GatewayEntry(
        gateway_id=gw.id,
        name=gw.name,
        type=gw.type,  # type: ignore[arg-type]
        protocol=gw.protocol,  # type: ignore[arg-type]
        host=gw.host,
        port=gw.port,
        security=gw.security,  # type: ignore[arg-type]
        verify_tls=gw.verify_tls,
        username=gw.username,
        password_encrypted=gw.password_encrypted,
        folder=gw.folder,
        maildir_path=gw.maildir_path,
        address=normalise_email(gw.address),
        extra_addresses=tuple(normalise_email(a) for a in gw.extra_addresses or ()),
        department_id=gw.department_id,
        poll_interval_s=gw.poll_interval_s,
        after_fetch=gw.after_fetch,  # type: ignore[arg-type]
        enabled=gw.enabled,
    )


def publish_gateway(session: Session, topics: Topics, gw: Gateway) -> None:
    _outbox(session, topics.gateways, gw.id, codec.dumps(gateway_entry(gw)))


def add_gateway(
    session: Session, topics: Topics, *, actor: str = "system", **fields: object
) -> Gateway:
    name = str(fields["name"])
    if session.scalar(select(Gateway).where(Gateway.name == name)):
        raise Conflict(f"a gateway named {name!r} exists")
    if session.get(Department, fields["department_id"]) is None:
        raise NotFound(f"department {fields['department_id']}")
    gw = Gateway(id=uuid.uuid4().hex[:16], **fields)
    gateway_entry(gw)  # validates the fields before anything is stored
    session.add(gw)
    session.flush()
    publish_gateway(session, topics, gw)
    audit(session, actor, "gateway.add", "gateway", gw.id, name=name)
    return gw


# ------------------------------------------------------------------ mail from the router


def _message_from_content(
    content: MailContent, *, direction: str, client_id: int | None
) -> Message:
    msg = Message(
        direction=direction,
        author_client_id=client_id,
        from_address=content.from_address,
        text=content.text,
        html=content.html,
        email_message_id=content.message_id,
    )
    msg.attachments = [
        MessageAttachment(
            filename=a.filename, content_type=a.content_type, size=a.size, blob_ref=a.blob_ref
        )
        for a in content.attachments
    ]
    return msg


def open_ticket_from_mail(session: Session, topics: Topics, cmd: OpenTicket) -> Ticket | None:
    """Idempotent on the email id: a redelivered command returns None and changes nothing."""
    if session.scalar(select(Ticket).where(Ticket.source_email_id == cmd.email_id)):
        return None
    if session.scalar(select(Ticket).where(Ticket.id == cmd.ticket_id)):
        return None
    ticket = Ticket(
        id=cmd.ticket_id,
        department_id=cmd.department_id,
        client_id=cmd.client_id,
        subject=cmd.content.subject,
        source_email_id=cmd.email_id,
        charged=cmd.charged,
    )
    msg = _message_from_content(cmd.content, direction="in", client_id=cmd.client_id)
    msg.source_email_id = cmd.email_id
    ticket.messages.append(msg)
    session.add(ticket)
    session.flush()
    opened = TicketOpened(
        event_id=_event_id(),
        ticket_id=ticket.id,
        number=ticket.number,
        department_id=ticket.department_id,
        client_id=ticket.client_id,
        subject=ticket.subject,
        source_email_id=cmd.email_id,
    )
    _outbox(session, topics.ticket_events, ticket.id, codec.dumps(opened))
    _publish_message_added(session, topics, ticket, msg)
    return ticket


def _publish_message_added(session: Session, topics: Topics, ticket: Ticket, msg: Message) -> None:
    added = MessageAdded(
        event_id=_event_id(),
        ticket_id=ticket.id,
        message_id=msg.id,
        direction=msg.direction,  # type: ignore[arg-type]
        source_email_id=msg.source_email_id,
        email_message_id=msg.email_message_id,
        client_id=ticket.client_id,
    )
    _outbox(session, topics.ticket_events, ticket.id, codec.dumps(added))


def add_message_from_mail(session: Session, topics: Topics, cmd: AddMessage) -> Message | None:
    if session.scalar(select(Message).where(Message.source_email_id == cmd.email_id)):
        return None
    ticket = session.scalar(select(Ticket).where(Ticket.id == cmd.ticket_id))
    if ticket is None:
        raise NotFound(f"ticket {cmd.ticket_id}")
    msg = _message_from_content(cmd.content, direction="in", client_id=cmd.client_id)
    msg.source_email_id = cmd.email_id
    ticket.messages.append(msg)
    if ticket.status in ("awaiting_client", "closed"):
        ticket.status = "in_progress"
    session.flush()
    _publish_message_added(session, topics, ticket, msg)
    return msg


def record_incoming(session: Session, event: IncomingEmailEvent) -> IncomingEmail | None:
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
        html=c.html,
        email_message_id=c.message_id,
        attachments=[a.model_dump() for a in c.attachments],
        automatic=event.automatic,
        reason=event.reason,
        received_at=c.received_at,
    )
    session.add(row)
    return row


def record_outcome(session: Session, outcome: Outcome) -> MailOutcome | None:
    if session.get(MailOutcome, outcome.email_id) is not None:
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
    session.add(row)
    return row


def ticket_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0
