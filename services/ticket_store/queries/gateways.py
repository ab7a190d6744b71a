"""Mail gateways, found by the name operators know them by."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Gateway


def gateway_by_name(session: Session, name: str) -> Gateway:
    gw = session.scalar(select(Gateway).where(Gateway.name == name))
    if gw is None:
        raise NotFound(f"gateway {name!r}")
    return gw
