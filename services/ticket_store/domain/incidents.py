"""Per-incident support: the store's view of a client's balance.

The ledger that charges is the router's, for every channel (mail, web, API; see
`actions.ticket_requests`). The store's view is the client's grants minus the
tickets charged so far (the router marks them on OpenTicket / TicketDecided)
minus the requests still waiting for the ledger: what the client sees, and a
quick refusal when it is 0. It lags the ledger by the pipeline's delay.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.ticket_store.models import Client, IncidentGrant, Ticket
from services.ticket_store.models_ticket_requests import RequestState, TicketRequest

# Grant ids of the charges older stores made for web tickets (before the router's ledger
# charged every channel): the Ticket row already counts them.
WEB_CHARGE_PREFIX = "web-ticket:"


def web_charge_grant_id(ticket_id: str) -> str:
    return f"{WEB_CHARGE_PREFIX}{ticket_id}"


def is_web_charge(grant_id: str) -> bool:
    return grant_id.startswith(WEB_CHARGE_PREFIX)


def incident_balance(session: Session, client_id: int) -> int:
    """Incidents left as the store sees them: grants minus charged tickets minus the
    requests the ledger has not answered yet."""
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
    pending = session.scalar(
        select(func.count())
        .select_from(TicketRequest)
        .where(TicketRequest.client_id == client_id, TicketRequest.state == RequestState.PENDING)
    )
    return int(granted or 0) - int(charged or 0) - int(pending or 0)


def lock_client(session: Session, client_id: int) -> None:
    """Serialise incident charges per client on every database.

    A no-op UPDATE takes the row lock on PostgreSQL and the write lock on
    SQLite before the balance is read, so two racing requests cannot both
    spend the last incident.
    """
    session.execute(update(Client).where(Client.id == client_id).values(name=Client.name))
