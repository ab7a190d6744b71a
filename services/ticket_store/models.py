"""The support center's domain, as the store persists it.

The store is the only service that writes this database; everything other
services need from it goes out as events through the outbox table. Tables of
other subjects live in models_*.py and are re-exported here, so importing this
module fills Base.metadata for Alembic.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.ticket_store.models_access import AuditEntry, AuthToken, LoginAttempt
from services.ticket_store.models_base import Base
from services.ticket_store.models_mail import IncomingEmail, MailOutcome, OutboxEvent
from services.ticket_store.timestamps import UtcDateTime, utcnow

staff_departments = Table(
    "staff_departments",
    Base.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class TicketStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    AWAITING_CLIENT = "awaiting_client"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    show_in_support_center: Mapped[bool] = mapped_column(Boolean, default=False)
    per_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    insufficient_notice: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    staff: Mapped[list[Staff]] = relationship(
        secondary=staff_departments, back_populates="departments"
    )


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    departments: Mapped[list[Department]] = relationship(
        secondary=staff_departments, back_populates="staff"
    )


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    emails: Mapped[list[ClientEmail]] = relationship(
        back_populates="client", cascade="all, delete-orphan"
    )


class ClientEmail(Base):
    """A registered address; stored normalised (lower case) so lookups are exact."""

    __tablename__ = "client_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), unique=True)

    client: Mapped[Client] = relationship(back_populates="emails")


class IncidentGrant(Base):
    """The incident ledger: grants and adjustments; the balance is their sum."""

    __tablename__ = "incident_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Gateway(Base):
    """An incoming mail gateway; the password is stored Fernet-encrypted."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(16), default="external")
    protocol: Mapped[str] = mapped_column(String(16), default="imap")
    host: Mapped[str] = mapped_column(String(255), default="")
    port: Mapped[int] = mapped_column(Integer, default=0)
    security: Mapped[str] = mapped_column(String(16), default="tls")
    verify_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    username: Mapped[str] = mapped_column(String(320), default="")
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    # "oauth2": fetchers log in with a token (models_oauth2, gateway.tokens), not the password.
    auth: Mapped[str] = mapped_column(String(16), default="password", server_default="password")
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    maildir_path: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(320))
    extra_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    poll_interval_s: Mapped[int] = mapped_column(Integer, default=300)
    after_fetch: Mapped[str] = mapped_column(String(16), default="mark-read")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"

    # The number staff and clients see; the id is what goes in the subject tag.
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(16), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default=TicketStatus.NEW.value)
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    # The email address replies go to (the sender of the mail that opened it), if any.
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    # The gateway the opening mail came through: replies go out from its address.
    gateway_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    source_email_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    charged: Mapped[bool] = mapped_column(Boolean, default=False)
    # The sequence of the ticket's last event on tickets.events (UnitOfWork.next_sequence).
    event_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_number: Mapped[int] = mapped_column(ForeignKey("tickets.number", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))  # in | out | note
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    author_client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), nullable=True)
    from_address: Mapped[str] = mapped_column(String(320), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    email_message_id: Mapped[str] = mapped_column(String(998), default="")
    source_email_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # Staff replies: the OutboundEmail id, so the mailer's delivery report finds the message.
    outbound_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    to_address: Mapped[str] = mapped_column(String(320), default="")
    # Mail in: its To and Cc and the sender's name; a reply-all: its Cc (migration 0008).
    to_addresses: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    cc_addresses: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    from_name: Mapped[str] = mapped_column(String(320), default="", server_default="")
    # queued | deferred (the mailer retries) | sent | failed
    delivery_status: Mapped[str] = mapped_column(String(32), default="")
    delivery_detail: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[MessageAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )


class MessageAttachment(Base):
    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    blob_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)

    message: Mapped[Message] = relationship(back_populates="attachments")


class PredefinedReply(Base):
    """A canned reply; scope is all departments, one department, or one staff member."""

    __tablename__ = "predefined_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16), default="all")  # all|department|staff
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), nullable=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReplyRating(Base):
    """A client's rating (1–5, optional comment) of a staff reply in their own ticket.

    Quality control: administrators see the ratings, other staff never do, so they
    live in their own table rather than on ``messages`` (which every staff view reads).
    One rating per reply and client; rating again replaces it.
    """

    __tablename__ = "reply_ratings"
    __table_args__ = (
        UniqueConstraint("message_id", "client_id", name="uq_reply_ratings_message_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


__all__ = [
    "AuditEntry",
    "AuthToken",
    "Base",
    "Client",
    "ClientEmail",
    "Department",
    "Gateway",
    "IncidentGrant",
    "IncomingEmail",
    "LoginAttempt",
    "MailOutcome",
    "Message",
    "MessageAttachment",
    "OutboxEvent",
    "PredefinedReply",
    "ReplyRating",
    "Staff",
    "Ticket",
    "TicketStatus",
    "staff_departments",
]

# Tables in their own modules (issue 11: operations; issue 13: OAuth2 on gateways;
# issue 12: web/API tickets waiting for the incident ledger).
from services.ticket_store import (  # noqa: E402,F401
    models_oauth2,
    models_operations,
    models_ticket_requests,
)
