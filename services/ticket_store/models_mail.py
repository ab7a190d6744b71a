"""Mail in and events out: incoming emails waiting for staff, the router's outcomes, the outbox.

Re-exported by models.py; import from there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.ticket_store.models_base import Base
from services.ticket_store.timestamps import UtcDateTime, utcnow


class IncomingEmail(Base):
    """Mail from an unknown sender, waiting in the "Incoming emails" section."""

    __tablename__ = "incoming_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[str] = mapped_column(String(64), unique=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    email_message_id: Mapped[str] = mapped_column(String(998), default="")
    attachments: Mapped[list[dict]] = mapped_column(JSON, default=list)
    # The mail's To and Cc, passed on to the message when staff convert or attach it (0008).
    to_addresses: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    cc_addresses: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="new")  # new|converted|deleted|spam
    ticket_number: Mapped[int | None] = mapped_column(ForeignKey("tickets.number"), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    handled_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class MailOutcome(Base):
    """What became of each raw email, as the router decided it."""

    __tablename__ = "mail_outcomes"

    email_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxEvent(Base):
    """Events written in the same transaction as the change they describe.

    The relay publishes them after commit, so a crash between the database
    and the broker neither loses nor invents an event.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(998))
    value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    # The relay's queue: only the rows not yet published, in id order (migration 0005).
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )
