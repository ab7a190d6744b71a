"""What the API returns and accepts; gateway views never carry a password."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import (
    Client,
    Department,
    Gateway,
    IncomingEmail,
    Message,
    PredefinedReply,
    Staff,
    Ticket,
)
from services.ticket_store.queries.ratings import client_ratings


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ auth


class LoginIn(In):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    role: Literal["staff", "client"] = "staff"


class TokenIn(LoginIn):
    name: str = Field(default="script", max_length=200)


class Me(Out):
    role: Literal["staff", "client"]
    id: int
    name: str
    email: str
    is_admin: bool = False
    department_ids: list[int] = []
    via: str
    csrf_token: str = ""


class TokenOut(Out):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime | None


# ------------------------------------------------------------------ departments and staff


class DepartmentOut(Out):
    id: int
    name: str
    show_in_support_center: bool
    per_incident: bool
    insufficient_notice: str


class DepartmentIn(In):
    name: str = Field(min_length=1, max_length=200)
    show_in_support_center: bool = False
    per_incident: bool = False
    insufficient_notice: str = ""


class DepartmentPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    show_in_support_center: bool | None = None
    per_incident: bool | None = None
    insufficient_notice: str | None = None


class StaffOut(Out):
    id: int
    name: str
    email: str
    active: bool
    is_admin: bool
    department_ids: list[int]


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut(
        id=staff.id,
        name=staff.name,
        email=staff.email,
        active=staff.active,
        is_admin=staff.is_admin,
        department_ids=sorted(d.id for d in staff.departments),
    )


class StaffIn(In):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    password: str = Field(min_length=8, max_length=1000)
    is_admin: bool = False
    department_ids: list[int] = []


class StaffPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    active: bool | None = None
    is_admin: bool | None = None
    department_ids: list[int] | None = None


# ------------------------------------------------------------------ clients and incidents


class ClientOut(Out):
    id: int
    name: str
    emails: list[str]
    comment: str
    created_at: datetime
    incidents_left: int
    can_log_in: bool


def client_out(session: Session, client: Client) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        emails=[e.email for e in sorted(client.emails, key=lambda e: e.id)],
        comment=client.comment,
        created_at=client.created_at,
        incidents_left=incident_balance(session, client.id),
        can_log_in=bool(client.password_hash),
    )


class ClientIn(In):
    name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(min_length=1)
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    comment: str = ""


class ClientPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class EmailIn(In):
    email: str = Field(max_length=320)


class IncidentsIn(In):
    amount: int = Field(description="incidents to add; negative takes them back")
    reason: str = Field(default="granted by hand", max_length=1000)
    grant_id: str | None = Field(
        default=None, max_length=64, description="idempotency key: the same id grants once"
    )


class IncidentGrantOut(Out):
    grant_id: str
    amount: int
    reason: str
    created_at: datetime


class IncidentsOut(Out):
    client_id: int
    incidents_left: int
    grants: list[IncidentGrantOut]


# ------------------------------------------------------------------ gateways


class GatewayOut(Out):
    """A gateway as administrators see it: everything but the password."""

    id: str
    name: str
    type: str
    protocol: str
    host: str
    port: int
    security: str
    verify_tls: bool
    username: str
    has_password: bool
    folder: str
    maildir_path: str
    address: str
    extra_addresses: list[str]
    department_id: int
    poll_interval_s: int
    after_fetch: str
    enabled: bool


def gateway_out(gw: Gateway) -> GatewayOut:
    return GatewayOut(
        id=gw.id,
        name=gw.name,
        type=gw.type,
        protocol=gw.protocol,
        host=gw.host,
        port=gw.port,
        security=gw.security,
        verify_tls=gw.verify_tls,
        username=gw.username,
        has_password=bool(gw.password_encrypted),
        folder=gw.folder,
        maildir_path=gw.maildir_path,
        address=gw.address,
        extra_addresses=list(gw.extra_addresses or []),
        department_id=gw.department_id,
        poll_interval_s=gw.poll_interval_s,
        after_fetch=gw.after_fetch,
        enabled=gw.enabled,
    )


class GatewayIn(In):
    name: str = Field(min_length=1, max_length=200)
    protocol: Literal["imap", "pop3", "maildir"] = "imap"
    host: str = ""
    port: int = Field(default=0, ge=0, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_tls: bool = True
    username: str = ""
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    maildir_path: str = ""
    address: str = Field(max_length=320)
    extra_addresses: list[str] = []
    department_id: int
    poll_interval_s: int = Field(default=300, ge=10)
    after_fetch: Literal["mark-read", "delete"] = "mark-read"
    enabled: bool = True

    def service_fields(self) -> dict[str, object]:
        """What `actions.gateways.add_gateway` takes, without the password: the protocol decides the
        type, and each type needs its location (ValueError, a 422, otherwise)."""
        fields = self.model_dump(exclude={"password"})
        if self.protocol == "maildir":
            fields["type"] = "local"
            if not self.maildir_path:
                raise ValueError("a local (Maildir) gateway needs maildir_path")
        else:
            fields["type"] = "external"
            if not self.host or not self.port:
                raise ValueError("an external gateway needs host and port")
        return fields


class GatewayPatch(In):
    """Only the fields given change; a password given is encrypted, never returned."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    security: Literal["tls", "starttls", "none"] | None = None
    verify_tls: bool | None = None
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    folder: str | None = None
    maildir_path: str | None = None
    address: str | None = Field(default=None, max_length=320)
    extra_addresses: list[str] | None = None
    department_id: int | None = None
    poll_interval_s: int | None = Field(default=None, ge=10)
    after_fetch: Literal["mark-read", "delete"] | None = None
    enabled: bool | None = None


# ------------------------------------------------------------------ tickets


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageOut(Out):
    id: int
    direction: Literal["in", "out", "note"]
    author: str
    from_address: str
    text: str
    html: str
    created_at: datetime
    attachments: list[AttachmentOut]
    delivery_status: str = ""


def message_out(session: Session, msg: Message, *, for_staff: bool) -> MessageOut:
    if msg.author_staff_id is not None:
        staff = session.get(Staff, msg.author_staff_id)
        author = staff.name if staff else "staff"
    elif msg.author_client_id is not None:
        client = session.get(Client, msg.author_client_id)
        author = client.name if client else "client"
    else:
        author = msg.from_address
    return MessageOut(
        id=msg.id,
        direction=msg.direction,  # type: ignore[arg-type]
        author=author,
        from_address=msg.from_address if for_staff else "",
        text=msg.text,
        html=msg.html,
        created_at=msg.created_at,
        attachments=[
            AttachmentOut(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                url=f"/api/v1/attachments/{a.id}",
            )
            for a in msg.attachments
        ],
        delivery_status=msg.delivery_status if for_staff else "",
    )


class TicketOut(Out):
    number: int
    id: str
    subject: str
    status: str
    department_id: int
    department: str
    client_id: int
    client_name: str
    assigned_staff_id: int | None
    charged: bool
    created_at: datetime
    updated_at: datetime


class ClientInfo(Out):
    """What staff see of the client in a ticket (BILLmanager's ticket view)."""

    id: int
    name: str
    emails: list[str]
    registered_at: datetime
    comment: str
    incidents_left: int


class TicketDetail(TicketOut):
    client: ClientInfo
    messages: list[MessageOut]


def ticket_out(session: Session, t: Ticket) -> TicketOut:
    dep = session.get(Department, t.department_id)
    client = session.get(Client, t.client_id)
    return TicketOut(
        number=t.number,
        id=t.id,
        subject=t.subject,
        status=t.status,
        department_id=t.department_id,
        department=dep.name if dep else "",
        client_id=t.client_id,
        client_name=client.name if client else "",
        assigned_staff_id=t.assigned_staff_id,
        charged=t.charged,
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def ticket_detail(session: Session, t: Ticket) -> TicketDetail:
    client = session.get(Client, t.client_id)
    assert client is not None
    info = ClientInfo(
        id=client.id,
        name=client.name,
        emails=[e.email for e in client.emails],
        registered_at=client.created_at,
        comment=client.comment,
        incidents_left=incident_balance(session, client.id),
    )
    return TicketDetail(
        **ticket_out(session, t).model_dump(),
        client=info,
        messages=[message_out(session, m, for_staff=True) for m in t.messages],
    )


# Clients see the client-side statuses of BILLmanager.
CLIENT_STATUS = {
    "new": "in_progress",
    "in_progress": "in_progress",
    "awaiting_client": "new_messages",
    "closed": "closed",
    "archived": "closed",
}


class ClientTicketOut(Out):
    number: int
    id: str
    subject: str
    status: str
    department_id: int
    department: str
    created_at: datetime
    updated_at: datetime


class MyRatingOut(Out):
    """The client's own rating of a staff reply (only ever shown to that client)."""

    score: int
    comment: str
    rated_at: datetime


class ClientMessageOut(MessageOut):
    my_rating: MyRatingOut | None = None


class ClientTicketDetail(ClientTicketOut):
    messages: list[ClientMessageOut]


def client_ticket_out(session: Session, t: Ticket) -> ClientTicketOut:
    dep = session.get(Department, t.department_id)
    return ClientTicketOut(
        number=t.number,
        id=t.id,
        subject=t.subject,
        status=CLIENT_STATUS.get(t.status, "in_progress"),
        department_id=t.department_id,
        department=dep.name if dep else "",
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def client_ticket_detail(session: Session, t: Ticket) -> ClientTicketDetail:
    """Internal notes never reach the client; staff replies carry the client's own rating."""
    shown = [m for m in t.messages if m.direction != "note"]
    mine = client_ratings(session, t.client_id, [m.id for m in shown if m.direction == "out"])
    return ClientTicketDetail(
        **client_ticket_out(session, t).model_dump(),
        messages=[
            ClientMessageOut(
                **message_out(session, m, for_staff=False).model_dump(),
                my_rating=MyRatingOut.model_validate(mine[m.id]) if m.id in mine else None,
            )
            for m in shown
        ],
    )


class TextIn(In):
    text: str = Field(min_length=1, max_length=200_000)


StatusName = Literal["new", "in_progress", "awaiting_client", "closed", "archived"]


class StatusIn(In):
    status: StatusName


class ClientTicketIn(In):
    department_id: int
    subject: str = Field(min_length=1, max_length=998)
    text: str = Field(min_length=1, max_length=200_000)


class SupportDepartmentOut(Out):
    id: int
    name: str
    per_incident: bool
    incidents_left: int | None = Field(
        description="how many incidents remain where support is paid; a new ticket uses one"
    )


# ------------------------------------------------------------------ pre-defined replies


class ReplyOut(Out):
    id: int
    title: str
    text: str
    scope: Literal["all", "department", "staff"]
    department_id: int | None
    staff_id: int | None


class FilledReplyOut(ReplyOut):
    filled_text: str


class ReplyIn(In):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=200_000)
    scope: Literal["all", "department", "staff"] = "all"
    department_id: int | None = None
    staff_id: int | None = None


class ReplyPatch(In):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    text: str | None = Field(default=None, min_length=1, max_length=200_000)
    scope: Literal["all", "department", "staff"] | None = None
    department_id: int | None = None
    staff_id: int | None = None


def reply_out(r: PredefinedReply) -> ReplyOut:
    return ReplyOut.model_validate(r)


# ------------------------------------------------------------------ incoming emails


class IncomingOut(Out):
    id: int
    email_id: str
    department_id: int
    from_address: str
    from_name: str
    subject: str
    status: str
    automatic: bool
    received_at: datetime
    ticket_number: int | None


class IncomingDetail(IncomingOut):
    text: str
    html: str
    reason: str
    attachments: list[AttachmentOut]


def incoming_detail(row: IncomingEmail) -> IncomingDetail:
    return IncomingDetail(
        **IncomingOut.model_validate(row).model_dump(),
        text=row.text,
        html=row.html,
        reason=row.reason,
        attachments=[
            AttachmentOut(
                id=i,
                filename=a.get("filename", "attachment"),
                content_type=a.get("content_type", "application/octet-stream"),
                size=int(a.get("size", 0)),
                url=f"/api/v1/incoming-emails/{row.id}/attachments/{i}",
            )
            for i, a in enumerate(row.attachments or [])
        ],
    )


class ConvertIn(In):
    client_name: str | None = Field(default=None, max_length=200)


class AttachIn(In):
    """Attach to a client (a new ticket of theirs) or to a ticket (a message in it)."""

    client_id: int | None = None
    ticket_number: int | None = None
    register_address: bool = Field(
        default=False, description="also register the sender's address to the client"
    )


class AuditOut(Out):
    id: int
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict
    at: datetime


# ------------------------------------------------------------------ reply ratings (quality control)


class RatingIn(In):
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field(default="", max_length=2000)


class RatingOut(Out):
    message_id: int
    ticket_number: int
    score: int
    comment: str
    rated_at: datetime


class RatedReplyOut(Out):
    ticket_number: int
    message_id: int
    client_id: int
    client_name: str
    score: int
    comment: str
    rated_at: datetime


class StaffRatingsOut(Out):
    """One staff member's ratings, for administrators only."""

    staff_id: int
    staff_name: str
    count: int
    average: float
    recent: list[RatedReplyOut]
