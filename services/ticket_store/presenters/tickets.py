"""Views of tickets, their messages and attachments, incoming emails and reply ratings:
staff see everything of a ticket, clients their side of it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.domain.recipients import from_cc, ticket_cc
from services.ticket_store.models import (
    Client,
    Department,
    IncomingEmail,
    Message,
    MessageAttachment,
    ReplyRating,
    Staff,
    Ticket,
)
from services.ticket_store.presenters.base import Out
from services.ticket_store.queries.ratings import client_ratings


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
    # Staff only: the mail's To and Cc (a reply-all: its Cc); from_cc: a Cc'd person wrote it.
    to_addresses: list[str] = []
    cc_addresses: list[str] = []
    from_cc: bool = False


def _author(session: Session, msg: Message) -> str:
    if msg.author_staff_id is not None:
        staff = session.get(Staff, msg.author_staff_id)
        return staff.name if staff else "staff"
    if msg.author_client_id is not None:
        client = session.get(Client, msg.author_client_id)
        return client.name if client else "client"
    return msg.from_name or msg.from_address


def attachment_out(a: MessageAttachment) -> AttachmentOut:
    return AttachmentOut.of(a, url=f"/api/v1/attachments/{a.id}")


def message_out(session: Session, msg: Message, *, for_staff: bool) -> MessageOut:
    """Clients see neither the sender's address, the To and Cc, nor the delivery status."""
    return MessageOut.of(
        msg,
        author=_author(session, msg),
        from_address=msg.from_address if for_staff else "",
        attachments=[attachment_out(a) for a in msg.attachments],
        delivery_status=msg.delivery_status if for_staff else "",
        to_addresses=list(msg.to_addresses or ()) if for_staff else [],
        cc_addresses=list(msg.cc_addresses or ()) if for_staff else [],
        from_cc=from_cc(msg),
    )


class TicketCommon(Out):
    """What staff and the ticket's client both see of a ticket."""

    number: int
    id: str
    subject: str
    status: str
    department_id: int
    department: str
    created_at: datetime
    updated_at: datetime


class TicketOut(TicketCommon):
    client_id: int
    client_name: str
    assigned_staff_id: int | None
    charged: bool


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
    # Who a reply-all Cc's: the ticket's Cc list (no gateway, not the client).
    cc_addresses: list[str] = []


def _department(session: Session, t: Ticket) -> str:
    dep = session.get(Department, t.department_id)
    return dep.name if dep else ""


def ticket_out(session: Session, t: Ticket) -> TicketOut:
    client = session.get(Client, t.client_id)
    name = client.name if client else ""
    return TicketOut.of(t, department=_department(session, t), client_name=name)


def ticket_detail(session: Session, t: Ticket) -> TicketDetail:
    client = session.get(Client, t.client_id)
    assert client is not None
    info = ClientInfo.of(
        client,
        emails=[e.email for e in client.emails],
        registered_at=client.created_at,
        incidents_left=incident_balance(session, client.id),
    )
    return TicketDetail(
        **ticket_out(session, t).model_dump(),
        client=info,
        messages=[message_out(session, m, for_staff=True) for m in t.messages],
        cc_addresses=list(ticket_cc(session, t)),
    )


# Clients see the client-side statuses of BILLmanager.
CLIENT_STATUS = {
    "new": "in_progress",
    "in_progress": "in_progress",
    "awaiting_client": "new_messages",
    "closed": "closed",
    "archived": "closed",
}


class ClientTicketOut(TicketCommon):
    """The client's side: BILLmanager's client statuses, nothing about staff or charges."""


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
    status = CLIENT_STATUS.get(t.status, "in_progress")
    return ClientTicketOut.of(t, status=status, department=_department(session, t))


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


class RatingOut(Out):
    message_id: int
    ticket_number: int
    score: int
    comment: str
    rated_at: datetime


def rating_out(rating: ReplyRating, ticket_number: int) -> RatingOut:
    return RatingOut.of(rating, ticket_number=ticket_number)


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
    to_addresses: list[str] = []
    cc_addresses: list[str] = []


def incoming_detail(row: IncomingEmail) -> IncomingDetail:
    return IncomingDetail.of(
        row,
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
