"""The store's service layer: every change to the support center goes through here.

Each function works inside the caller's unit of work (a Session in a
transaction) and writes the events others need to the outbox in the same
transaction. The consumer, the CLI and the API all call these functions.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Sequence

import nh3
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from kernel.config import Topics
from schemas import codec
from schemas.events import (
    AddMessage,
    Attachment,
    ClientEntry,
    DepartmentEntry,
    GatewayEntry,
    IncidentsGranted,
    MailContent,
    MessageAdded,
    OpenTicket,
    OutboundEmail,
    Outcome,
    TicketOpened,
    TicketStatusChanged,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from schemas.ticket_tag import new_ticket_id
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
    PredefinedReply,
    Staff,
    Ticket,
    TicketStatus,
    utcnow,
)

log = logging.getLogger(__name__)


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


def normalise_email(address: str) -> str:
    return address.strip().lower()


def sanitise_html(html: str) -> str:
    """Mail HTML is stored for display only after nh3 has removed scripts, handlers and the like."""
    return nh3.clean(html) if html else ""


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


# Grant ids of the store's own charges for web tickets: the Ticket row already counts them.
WEB_CHARGE_PREFIX = "web-ticket:"


def record_external_grant(session: Session, grant: IncidentsGranted) -> IncidentGrant | None:
    """A grant read back from billing.incidents (external billing, or our own echo).

    Idempotent on the grant id, so the store's own grants come back as no-ops;
    web-ticket charges are already counted by their ticket; unknown clients are
    skipped (billing may know clients this support center does not).
    """
    if grant.grant_id.startswith(WEB_CHARGE_PREFIX):
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
    audit(session, "billing", "incidents.grant", "client", grant.client_id, amount=grant.amount)
    return row


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
    session.add(gw)
    session.flush()  # applies the column defaults
    gateway_entry(gw)  # validates; an invalid gateway rolls back the caller's transaction
    publish_gateway(session, topics, gw)
    audit(session, actor, "gateway.add", "gateway", gw.id, name=name)
    return gw


# ------------------------------------------------------------------ mail from the router


def _attachment_rows(attachments: Iterable[Attachment]) -> list[MessageAttachment]:
    return [
        MessageAttachment(
            filename=a.filename, content_type=a.content_type, size=a.size, blob_ref=a.blob_ref
        )
        for a in attachments
    ]


def _message_from_content(
    content: MailContent, *, direction: str, client_id: int | None
) -> Message:
    msg = Message(
        direction=direction,
        author_client_id=client_id,
        from_address=content.from_address,
        text=content.text,
        html=sanitise_html(content.html),
        email_message_id=content.message_id,
    )
    msg.attachments = _attachment_rows(content.attachments)
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
        reply_to=normalise_email(cmd.content.from_address),
        gateway_id=cmd.gateway_id,
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
    ticket.updated_at = utcnow()
    session.flush()
    _publish_message_added(session, topics, ticket, msg)
    if ticket.status != TicketStatus.NEW:
        # The client answered: the ticket is back with staff (reopened if it was closed).
        _set_status(session, topics, ticket, TicketStatus.IN_PROGRESS, actor="mail")
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
        html=sanitise_html(c.html),
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


# ------------------------------------------------------------------ staff and permissions


def add_staff(
    session: Session,
    name: str,
    email: str,
    password: str,
    *,
    is_admin: bool = False,
    department_ids: Iterable[int] = (),
    actor: str = "system",
) -> Staff:
    """A staff member works only in the departments they are assigned to (the seed)."""
    from services.ticket_store.auth import hash_password

    address = normalise_email(email)
    if "@" not in address:
        raise ValueError(f"not an email address: {email!r}")
    if session.scalar(select(Staff).where(Staff.email == address)):
        raise Conflict(f"a staff member with the email {address} exists")
    staff = Staff(
        name=name,
        email=address,
        password_hash=hash_password(password) if password else "",
        is_admin=is_admin,
        active=True,
    )
    staff.departments = _departments(session, department_ids)
    session.add(staff)
    session.flush()
    audit(
        session,
        actor,
        "staff.add",
        "staff",
        staff.id,
        email=address,
        is_admin=is_admin,
        departments=[d.id for d in staff.departments],
    )
    return staff


def _departments(session: Session, department_ids: Iterable[int]) -> list[Department]:
    deps = []
    for dep_id in dict.fromkeys(department_ids):
        dep = session.get(Department, dep_id)
        if dep is None:
            raise NotFound(f"department {dep_id}")
        deps.append(dep)
    return deps


def update_staff(
    session: Session,
    staff_id: int,
    *,
    name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    active: bool | None = None,
    is_admin: bool | None = None,
    department_ids: Iterable[int] | None = None,
    actor: str = "system",
) -> Staff:
    from services.ticket_store.auth import hash_password, revoke_all

    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"staff member {staff_id}")
    changed: dict[str, object] = {}
    if name is not None:
        staff.name = changed["name"] = name
    if email is not None:
        address = normalise_email(email)
        other = session.scalar(select(Staff).where(Staff.email == address))
        if other is not None and other.id != staff.id:
            raise Conflict(f"a staff member with the email {address} exists")
        staff.email = changed["email"] = address
    if password is not None:
        staff.password_hash = hash_password(password)
        changed["password"] = "changed"
        revoke_all(session, staff_id=staff.id)
    if active is not None:
        staff.active = changed["active"] = active
        if not active:
            revoke_all(session, staff_id=staff.id)
    if is_admin is not None:
        staff.is_admin = changed["is_admin"] = is_admin
    if department_ids is not None:
        staff.departments = _departments(session, department_ids)
        changed["departments"] = [d.id for d in staff.departments]
    session.flush()
    audit(session, actor, "staff.update", "staff", staff.id, **changed)
    return staff


def staff_department_ids(staff: Staff) -> set[int]:
    """A staff member in several departments has the rights of all of them."""
    return {d.id for d in staff.departments}


def can_handle(staff: Staff, department_id: int) -> bool:
    return staff.active and department_id in staff_department_ids(staff)


def update_department(
    session: Session, topics: Topics, department_id: int, *, actor: str = "system", **fields: object
) -> Department:
    dep = session.get(Department, department_id)
    if dep is None:
        raise NotFound(f"department {department_id}")
    allowed = {"name", "show_in_support_center", "per_incident", "insufficient_notice"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown department fields: {sorted(unknown)}")
    if "name" in fields:
        other = session.scalar(select(Department).where(Department.name == fields["name"]))
        if other is not None and other.id != dep.id:
            raise Conflict(f"a department named {fields['name']!r} exists")
    for key, value in fields.items():
        setattr(dep, key, value)
    session.flush()
    publish_department(session, topics, dep)
    audit(session, actor, "department.update", "department", dep.id, **fields)
    return dep


# ------------------------------------------------------------------ clients (web)


def update_client(
    session: Session,
    topics: Topics,
    client_id: int,
    *,
    name: str | None = None,
    comment: str | None = None,
    password: str | None = None,
    actor: str = "system",
) -> Client:
    """A new name is republished for every address, so the router's directory stays right."""
    from services.ticket_store.auth import hash_password, revoke_all

    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id}")
    changed: dict[str, object] = {}
    if name is not None and name != client.name:
        client.name = changed["name"] = name
        for entry in client.emails:
            value = ClientEntry(email=entry.email, client_id=client.id, name=client.name)
            _outbox(session, topics.clients, entry.email, codec.dumps(value))
    if comment is not None:
        client.comment = changed["comment"] = comment
    if password is not None:
        client.password_hash = hash_password(password) if password else ""
        changed["password"] = "changed"
        revoke_all(session, client_id=client.id)
    session.flush()
    audit(session, actor, "client.update", "client", client.id, **changed)
    return client


def incident_balance(session: Session, client_id: int) -> int:
    """Incidents left: the ledger's grants minus the tickets charged so far."""
    granted = session.scalar(
        select(func.coalesce(func.sum(IncidentGrant.amount), 0)).where(
            IncidentGrant.client_id == client_id
        )
    )
    charged = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.client_id == client_id, Ticket.charged.is_(True))
    )
    return int(granted or 0) - int(charged or 0)


def _lock_client(session: Session, client_id: int) -> None:
    """Serialise incident charges per client on every database.

    A no-op UPDATE takes the row lock on PostgreSQL and the write lock on
    SQLite before the balance is read, so two racing requests cannot both
    spend the last incident.
    """
    session.execute(update(Client).where(Client.id == client_id).values(name=Client.name))


def client_primary_email(client: Client) -> str:
    return min((e.id, e.email) for e in client.emails)[1] if client.emails else ""


# ------------------------------------------------------------------ tickets in the web

# Status transitions a person may make (staff or client); mail and replies move
# tickets as well: a staff reply → awaiting_client, a client message → in_progress.
TRANSITIONS: dict[str, set[str]] = {
    TicketStatus.NEW: {TicketStatus.IN_PROGRESS, TicketStatus.AWAITING_CLIENT, TicketStatus.CLOSED},
    TicketStatus.IN_PROGRESS: {TicketStatus.AWAITING_CLIENT, TicketStatus.CLOSED},
    TicketStatus.AWAITING_CLIENT: {TicketStatus.IN_PROGRESS, TicketStatus.CLOSED},
    TicketStatus.CLOSED: {TicketStatus.IN_PROGRESS, TicketStatus.ARCHIVED},
    TicketStatus.ARCHIVED: {TicketStatus.IN_PROGRESS},
}


class InvalidTransition(ValueError):
    pass


class InsufficientIncidents(Exception):
    """The department sells per-incident support and the client has none left."""

    def __init__(self, department: Department) -> None:
        super().__init__(department.insufficient_notice or "insufficient support incidents")
        self.department = department


def _set_status(session: Session, topics: Topics, ticket: Ticket, new: str, *, actor: str) -> bool:
    old = ticket.status
    if old == new:
        return False
    ticket.status = new
    ticket.closed_at = utcnow() if new in (TicketStatus.CLOSED, TicketStatus.ARCHIVED) else None
    changed = TicketStatusChanged(
        event_id=_event_id(), ticket_id=ticket.id, old_status=old, new_status=new
    )
    _outbox(session, topics.ticket_events, ticket.id, codec.dumps(changed))
    audit(session, actor, "ticket.status", "ticket", ticket.number, old=old, new=new)
    return True


def change_status(
    session: Session, topics: Topics, ticket: Ticket, new: str, *, actor: str = "system"
) -> Ticket:
    """A person's status change, checked against TRANSITIONS."""
    try:
        target = TicketStatus(new)
    except ValueError as exc:
        raise InvalidTransition(f"unknown status {new!r}") from exc
    if ticket.status == target:
        return ticket
    if target not in TRANSITIONS.get(TicketStatus(ticket.status), set()):
        raise InvalidTransition(f"a ticket cannot go from {ticket.status} to {target}")
    _set_status(session, topics, ticket, target, actor=actor)
    return ticket


def _new_ticket(
    session: Session,
    topics: Topics,
    *,
    ticket_id: str,
    department_id: int,
    client_id: int,
    subject: str,
    reply_to: str,
    first: Message,
    source_email_id: str | None = None,
    charged: bool = False,
) -> Ticket:
    ticket = Ticket(
        id=ticket_id,
        department_id=department_id,
        client_id=client_id,
        subject=subject,
        reply_to=reply_to,
        source_email_id=source_email_id,
        charged=charged,
        status=TicketStatus.NEW.value,
    )
    ticket.messages.append(first)
    session.add(ticket)
    session.flush()
    opened = TicketOpened(
        event_id=_event_id(),
        ticket_id=ticket.id,
        number=ticket.number,
        department_id=ticket.department_id,
        client_id=ticket.client_id,
        subject=ticket.subject,
        source_email_id=source_email_id,
    )
    _outbox(session, topics.ticket_events, ticket.id, codec.dumps(opened))
    _publish_message_added(session, topics, ticket, first)
    return ticket


def open_ticket_by_client(
    session: Session,
    topics: Topics,
    client: Client,
    department_id: int,
    subject: str,
    text: str,
) -> Ticket:
    """A client's ticket from the web, under the same incident rule as mail.

    The charge is a Ticket with charged=True (the store's balance counts them);
    a -1 IncidentsGranted with grant_id "web-ticket:<id>" goes out on the
    outbox so the router's own balance on billing.incidents stays in step.
    """
    dep = session.get(Department, department_id)
    if dep is None or not dep.show_in_support_center:
        raise NotFound(f"department {department_id}")
    if not text.strip():
        raise ValueError("the message is empty")
    charged = False
    ticket_id = new_ticket_id()
    if dep.per_incident:
        _lock_client(session, client.id)
        if incident_balance(session, client.id) < 1:
            raise InsufficientIncidents(dep)
        charged = True
    first = Message(direction="in", author_client_id=client.id, text=text)
    ticket = _new_ticket(
        session,
        topics,
        ticket_id=ticket_id,
        department_id=dep.id,
        client_id=client.id,
        subject=subject.strip() or "(no subject)",
        reply_to=client_primary_email(client),
        first=first,
        charged=charged,
    )
    if charged:
        adjustment = IncidentsGranted(
            grant_id=f"{WEB_CHARGE_PREFIX}{ticket.id}",
            client_id=client.id,
            amount=-1,
            reason=f"ticket #{ticket.number} opened in the web",
        )
        _outbox(session, topics.incidents, str(client.id), codec.dumps(adjustment))
    audit(session, f"client:{client.id}", "ticket.open", "ticket", ticket.number, charged=charged)
    return ticket


def client_message(
    session: Session,
    topics: Topics,
    client: Client,
    ticket: Ticket,
    text: str,
    *,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """A client's answer from the web; it reopens a closed ticket, as a mail answer does."""
    if not text.strip():
        raise ValueError("the message is empty")
    msg = Message(direction="in", author_client_id=client.id, text=text)
    msg.attachments = _attachment_rows(attachments)
    ticket.messages.append(msg)
    ticket.updated_at = utcnow()
    session.flush()
    _publish_message_added(session, topics, ticket, msg)
    if ticket.status != TicketStatus.NEW:
        _set_status(session, topics, ticket, TicketStatus.IN_PROGRESS, actor=f"client:{client.id}")
    return msg


def _msg_id(value: str) -> str:
    """A Message-ID as headers need it, in angle brackets (the router stores them bare)."""
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return ""
    return value if value.startswith("<") else f"<{value.strip('<>')}>"


def _reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def staff_reply(
    session: Session,
    topics: Topics,
    staff: Staff,
    ticket: Ticket,
    text: str,
    *,
    message_id_domain: str,
    predefined_reply_id: int | None = None,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """A reply to the client: a message, the email on the outbox, and its events.

    The Message-ID is fixed here, before sending, so the router can thread the
    client's answer by In-Reply-To as soon as MessageAdded is out.
    """
    if not text.strip():
        raise ValueError("the reply is empty")
    client = session.get(Client, ticket.client_id)
    inbound = [m for m in ticket.messages if m.direction == "in"]
    recipient = next((m.from_address for m in reversed(inbound) if m.from_address), "")
    recipient = normalise_email(recipient or ticket.reply_to or client_primary_email(client))
    if not recipient:
        raise Conflict("the client has no email address to reply to")
    outbound_id = uuid.uuid4().hex
    message_id = f"<{outbound_id}@{message_id_domain}>"
    in_reply_to = next(
        (_msg_id(m.email_message_id) for m in reversed(inbound) if _msg_id(m.email_message_id)),
        "",
    )
    references = tuple(
        _msg_id(m.email_message_id)
        for m in ticket.messages
        if _msg_id(m.email_message_id) and m.direction in ("in", "out")
    )[-20:]
    msg = Message(
        direction="out",
        author_staff_id=staff.id,
        text=text,
        email_message_id=message_id,
        outbound_id=outbound_id,
        to_address=recipient,
        delivery_status="queued",
    )
    msg.attachments = _attachment_rows(attachments)
    ticket.messages.append(msg)
    ticket.updated_at = utcnow()
    session.flush()
    gateway = session.get(Gateway, ticket.gateway_id) if ticket.gateway_id else None
    outbound = OutboundEmail(
        outbound_id=outbound_id,
        to=recipient,
        from_address=gateway.address.lower() if gateway is not None else "",
        subject=_reply_subject(ticket.subject or f"Ticket #{ticket.number}"),
        text=text,
        in_reply_to=in_reply_to,
        references=references,
        ticket_id=ticket.id,
        message_id=message_id,
        kind="staff_reply",
        attachments=tuple(attachments),
    )
    _outbox(session, topics.outbound, recipient, codec.dumps(outbound))
    _publish_message_added(session, topics, ticket, msg)
    _set_status(session, topics, ticket, TicketStatus.AWAITING_CLIENT, actor=f"staff:{staff.id}")
    audit(
        session,
        f"staff:{staff.id}",
        "ticket.reply",
        "ticket",
        ticket.number,
        message=msg.id,
        predefined_reply=predefined_reply_id,
    )
    return msg


def add_note(session: Session, topics: Topics, staff: Staff, ticket: Ticket, text: str) -> Message:
    """An internal note: staff of the department see it, the client never does."""
    if not text.strip():
        raise ValueError("the note is empty")
    msg = Message(direction="note", author_staff_id=staff.id, text=text)
    ticket.messages.append(msg)
    session.flush()
    _publish_message_added(session, topics, ticket, msg)
    audit(session, f"staff:{staff.id}", "ticket.note", "ticket", ticket.number, message=msg.id)
    return msg


def assign_to_me(session: Session, topics: Topics, staff: Staff, ticket: Ticket) -> Ticket:
    """ "Assign ticket to me": a new ticket is then in progress."""
    ticket.assigned_staff_id = staff.id
    if ticket.status == TicketStatus.NEW:
        _set_status(session, topics, ticket, TicketStatus.IN_PROGRESS, actor=f"staff:{staff.id}")
    audit(session, f"staff:{staff.id}", "ticket.assign", "ticket", ticket.number, staff=staff.id)
    return ticket


def record_delivery(
    session: Session, outbound_id: str, *, status: str, detail: str = ""
) -> Message | None:
    """The mailer's report on a staff reply; a repeat or an unknown id changes nothing."""
    msg = session.scalar(select(Message).where(Message.outbound_id == outbound_id))
    if msg is None or msg.delivery_status == status:
        return None
    if msg.delivery_status == "sent":  # a late failure report never undoes a delivery
        return None
    msg.delivery_status = status
    msg.delivery_detail = detail
    msg.delivered_at = utcnow() if status == "sent" else None
    return msg


# ------------------------------------------------------------------ pre-defined replies

REPLY_SCOPES = ("all", "department", "staff")
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


def add_predefined_reply(
    session: Session,
    title: str,
    text: str,
    *,
    scope: str = "all",
    department_id: int | None = None,
    staff_id: int | None = None,
    actor: str = "system",
) -> PredefinedReply:
    """Available to every staff member, to one department's staff, or to one person."""
    _check_reply_scope(session, scope, department_id, staff_id)
    reply = PredefinedReply(
        title=title,
        text=text,
        scope=scope,
        department_id=department_id if scope == "department" else None,
        staff_id=staff_id if scope == "staff" else None,
    )
    session.add(reply)
    session.flush()
    audit(session, actor, "reply.add", "predefined_reply", reply.id, scope=scope)
    return reply


def _check_reply_scope(
    session: Session, scope: str, department_id: int | None, staff_id: int | None
) -> None:
    if scope not in REPLY_SCOPES:
        raise ValueError(f"scope must be one of {REPLY_SCOPES}")
    if scope == "department" and (
        department_id is None or session.get(Department, department_id) is None
    ):
        raise ValueError("a department-wide reply needs an existing department_id")
    if scope == "staff" and (staff_id is None or session.get(Staff, staff_id) is None):
        raise ValueError("a personal reply needs an existing staff_id")


def update_predefined_reply(
    session: Session, reply_id: int, *, actor: str = "system", **fields: object
) -> PredefinedReply:
    reply = session.get(PredefinedReply, reply_id)
    if reply is None:
        raise NotFound(f"pre-defined reply {reply_id}")
    scope = str(fields.get("scope", reply.scope))
    dep_id = fields.get("department_id", reply.department_id)
    staff_id = fields.get("staff_id", reply.staff_id)
    _check_reply_scope(session, scope, dep_id, staff_id)  # type: ignore[arg-type]
    reply.title = str(fields.get("title", reply.title))
    reply.text = str(fields.get("text", reply.text))
    reply.scope = scope
    reply.department_id = dep_id if scope == "department" else None  # type: ignore[assignment]
    reply.staff_id = staff_id if scope == "staff" else None  # type: ignore[assignment]
    session.flush()
    audit(session, actor, "reply.update", "predefined_reply", reply.id, scope=scope)
    return reply


def delete_predefined_reply(session: Session, reply_id: int, *, actor: str = "system") -> None:
    reply = session.get(PredefinedReply, reply_id)
    if reply is None:
        raise NotFound(f"pre-defined reply {reply_id}")
    session.delete(reply)
    audit(session, actor, "reply.delete", "predefined_reply", reply_id)


def replies_for(
    session: Session, staff: Staff, department_id: int | None = None
) -> list[PredefinedReply]:
    """The replies this staff member may pick: everyone's, their departments', their own.

    With a department (a ticket's), department-wide replies are limited to it.
    """
    deps = staff_department_ids(staff)
    if department_id is not None:
        deps &= {department_id}
    cond = or_(
        PredefinedReply.scope == "all",
        and_(PredefinedReply.scope == "department", PredefinedReply.department_id.in_(deps)),
        and_(PredefinedReply.scope == "staff", PredefinedReply.staff_id == staff.id),
    )
    return list(session.scalars(select(PredefinedReply).where(cond).order_by(PredefinedReply.id)))


def reply_placeholders(session: Session, ticket: Ticket, staff: Staff) -> dict[str, str]:
    client = session.get(Client, ticket.client_id)
    dep = session.get(Department, ticket.department_id)
    return {
        "client_name": client.name if client else "",
        "client_email": ticket.reply_to or (client_primary_email(client) if client else ""),
        "ticket_number": str(ticket.number),
        "ticket_subject": ticket.subject,
        "staff_name": staff.name,
        "department": dep.name if dep else "",
    }


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """{client_name}, {ticket_number} … are filled; unknown {words} stay as written."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


# ------------------------------------------------------------------ incoming emails


def _message_from_incoming(incoming: IncomingEmail, client_id: int) -> Message:
    msg = Message(
        direction="in",
        author_client_id=client_id,
        from_address=incoming.from_address,
        text=incoming.text,
        html=incoming.html,
        email_message_id=incoming.email_message_id,
        source_email_id=incoming.email_id,
    )
    msg.attachments = [
        MessageAttachment(
            filename=a.get("filename", "attachment"),
            content_type=a.get("content_type", "application/octet-stream"),
            size=int(a.get("size", 0)),
            blob_ref=a.get("blob_ref"),
        )
        for a in incoming.attachments or []
    ]
    return msg


def _take_incoming(incoming: IncomingEmail, staff: Staff, status: str) -> None:
    if incoming.status != "new":
        raise Conflict(f"this email was handled already ({incoming.status})")
    incoming.status = status
    incoming.handled_by_staff_id = staff.id
    incoming.handled_at = utcnow()


def convert_incoming(
    session: Session,
    topics: Topics,
    staff: Staff,
    incoming: IncomingEmail,
    *,
    client_name: str | None = None,
) -> Ticket:
    """A new client from the sender, and the mail as their ticket in the gateway's department.

    Staff chose to open it, so no incident is charged (an administrator can
    adjust the client's incidents).
    """
    address = normalise_email(incoming.from_address)
    _take_incoming(incoming, staff, "converted")
    if session.scalar(select(ClientEmail).where(ClientEmail.email == address)):
        raise Conflict(f"{address} belongs to a client already: attach the email to that client")
    name = (client_name or incoming.from_name or address).strip()
    client = add_client(session, topics, name, [address], actor=f"staff:{staff.id}")
    return _ticket_from_incoming(session, topics, staff, incoming, client)


def attach_incoming_to_client(
    session: Session,
    topics: Topics,
    staff: Staff,
    incoming: IncomingEmail,
    client_id: int,
    *,
    register_address: bool = False,
) -> Ticket:
    """The mail becomes a ticket of an existing client; optionally the sender's
    address is added to the client so later mail goes straight to Tickets."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id}")
    _take_incoming(incoming, staff, "converted")
    if register_address:
        add_client_email(session, topics, client, incoming.from_address, actor=f"staff:{staff.id}")
    return _ticket_from_incoming(session, topics, staff, incoming, client)


def _ticket_from_incoming(
    session: Session, topics: Topics, staff: Staff, incoming: IncomingEmail, client: Client
) -> Ticket:
    ticket = _new_ticket(
        session,
        topics,
        ticket_id=new_ticket_id(),
        department_id=incoming.department_id,
        client_id=client.id,
        subject=incoming.subject or "(no subject)",
        reply_to=normalise_email(incoming.from_address),
        first=_message_from_incoming(incoming, client.id),
        source_email_id=incoming.email_id,
    )
    incoming.ticket_number = ticket.number
    audit(
        session,
        f"staff:{staff.id}",
        "incoming.convert",
        "incoming_email",
        incoming.id,
        ticket=ticket.number,
        client=client.id,
    )
    return ticket


def attach_incoming_to_ticket(
    session: Session, topics: Topics, staff: Staff, incoming: IncomingEmail, ticket: Ticket
) -> Message:
    """The mail joins an existing ticket as the client's message."""
    _take_incoming(incoming, staff, "converted")
    msg = _message_from_incoming(incoming, ticket.client_id)
    ticket.messages.append(msg)
    ticket.updated_at = utcnow()
    incoming.ticket_number = ticket.number
    session.flush()
    _publish_message_added(session, topics, ticket, msg)
    if ticket.status != TicketStatus.NEW:
        _set_status(session, topics, ticket, TicketStatus.IN_PROGRESS, actor=f"staff:{staff.id}")
    audit(
        session,
        f"staff:{staff.id}",
        "incoming.attach",
        "incoming_email",
        incoming.id,
        ticket=ticket.number,
    )
    return msg


def discard_incoming(
    session: Session, staff: Staff, incoming: IncomingEmail, status: str
) -> IncomingEmail:
    """Delete, or mark as spam; the row stays for the audit trail."""
    if status not in ("deleted", "spam"):
        raise ValueError("status must be deleted or spam")
    _take_incoming(incoming, staff, status)
    audit(session, f"staff:{staff.id}", f"incoming.{status}", "incoming_email", incoming.id)
    return incoming


def ticket_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0


# ------------------------------------------------------------------ gateway edit/remove (fetcher)

GATEWAY_EDITABLE = frozenset(
    {
        "name",
        "host",
        "port",
        "security",
        "verify_tls",
        "username",
        "password_encrypted",
        "folder",
        "maildir_path",
        "address",
        "extra_addresses",
        "department_id",
        "poll_interval_s",
        "after_fetch",
        "enabled",
    }
)


def gateway_by_name(session: Session, name: str) -> Gateway:
    gw = session.scalar(select(Gateway).where(Gateway.name == name))
    if gw is None:
        raise NotFound(f"gateway {name!r}")
    return gw


def edit_gateway(
    session: Session,
    topics: Topics,
    current_name: str,
    /,
    *,
    actor: str = "system",
    **changes: object,
) -> Gateway:
    """Change a gateway (a new ``name`` among the changes renames it) and republish it;
    fetchers restart that gateway with the new entry (its id, not its name, keys its state)."""
    gw = gateway_by_name(session, current_name)
    unknown = set(changes) - GATEWAY_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    new_name = changes.get("name")
    taken = new_name and new_name != gw.name
    if taken and session.scalar(select(Gateway).where(Gateway.name == new_name)):
        raise Conflict(f"a gateway named {new_name!r} exists")
    if "department_id" in changes and session.get(Department, changes["department_id"]) is None:
        raise NotFound(f"department {changes['department_id']}")
    for key, value in changes.items():
        setattr(gw, key, value)
    gateway_entry(gw)  # validates (e.g. poll interval >= 10 s) before anything is stored
    session.flush()
    publish_gateway(session, topics, gw)
    audit(
        session,
        actor,
        "gateway.edit",
        "gateway",
        gw.id,
        fields=sorted(k for k in changes if k != "password_encrypted")
        + (["password"] if "password_encrypted" in changes else []),
    )
    return gw


def remove_gateway(session: Session, topics: Topics, name: str, *, actor: str = "system") -> str:
    """Delete a gateway and publish a tombstone: fetchers stop polling it."""
    gw = gateway_by_name(session, name)
    gateway_id = gw.id
    session.delete(gw)
    _outbox(session, topics.gateways, gateway_id, None)
    audit(session, actor, "gateway.remove", "gateway", gateway_id, name=name)
    return gateway_id
