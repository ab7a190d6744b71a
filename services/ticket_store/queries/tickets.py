"""Tickets: how many there are."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.ticket_store.models import Ticket


def ticket_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0
