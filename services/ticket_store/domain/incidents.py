"""Per-incident support: the balance and the lock that keeps two charges from racing.

One ledger for every channel: the balance is the client's grants minus the
tickets charged so far (a charged Ticket row is the charge itself).
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.ticket_store.models import Client, IncidentGrant, Ticket

# Grant ids of the store's own charges for web tickets: the Ticket row already counts them.
WEB_CHARGE_PREFIX = "web-ticket:"


def web_charge_grant_id(ticket_id: str) -> str:
    return f"{WEB_CHARGE_PREFIX}{ticket_id}"


def is_web_charge(grant_id: str) -> bool:
    return grant_id.startswith(WEB_CHARGE_PREFIX)


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


def lock_client(session: Session, client_id: int) -> None:
    """Serialise incident charges per client on every database.

    A no-op UPDATE takes the row lock on PostgreSQL and the write lock on
    SQLite before the balance is read, so two racing requests cannot both
    spend the last incident.
    """
    session.execute(update(Client).where(Client.id == client_id).values(name=Client.name))
