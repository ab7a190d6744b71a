"""Tickets asked for from the web or the API in a paid department, until the router's
incident ledger answers (issue 12: one incident authority for every channel).

The store never charges an incident itself: it keeps the client's request here
(with the ticket id it will open under), publishes it on tickets.requests through
the outbox in the same transaction, and opens the ticket, or records the refusal,
when the ledger's `TicketDecided` comes back (migration 0010).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.ticket_store.models_base import Base
from services.ticket_store.timestamps import UtcDateTime, utcnow


class RequestState:
    PENDING = "pending"  # published; the ledger has not answered yet
    OPENED = "opened"
    REFUSED = "refused"


class TicketRequest(Base):
    __tablename__ = "ticket_requests"
    __table_args__ = (Index("ix_ticket_requests_client_state", "client_id", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # The ticket's id if the ledger says yes (chosen up front: a redelivery names it too).
    ticket_id: Mapped[str] = mapped_column(String(16), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default=RequestState.PENDING)
    # The ledger's reason, and for a refusal the department's notice shown to the client.
    reason: Mapped[str] = mapped_column(Text, default="")
    notice: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
