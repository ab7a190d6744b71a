"""A client's new ticket from the web or the API, charged by the router's incident ledger.

The router's ledger is the one authority for incidents on every channel: the store
asks (`TicketRequested` on tickets.requests, keyed by client id, through its outbox),
the ledger settles it in the same per-client order as that client's mail, and answers
(`TicketDecided` on tickets.commands); only then does the store open the ticket, or
record the refusal with the department's notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.base import Event, utcnow


class TicketRequested(Event):
    """Store -> router: may this client open this ticket? Idempotent on `request_id`."""

    request_id: str
    client_id: int
    department_id: int
    # Chosen by the store up front, so a redelivered request names the same ticket.
    ticket_id: str
    per_incident: bool = True
    at: datetime = Field(default_factory=utcnow)


class TicketDecided(Event):
    """Router -> store: the ledger's decision on a `TicketRequested` (same on redelivery)."""

    kind: Literal["ticket_decided"] = "ticket_decided"
    request_id: str
    client_id: int
    ticket_id: str
    opened: bool
    charged: bool = False
    reason: str = ""
    decided_at: datetime = Field(default_factory=utcnow)
