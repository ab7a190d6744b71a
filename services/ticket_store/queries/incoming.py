"""Incoming emails (unknown senders' mail) of a staff member's departments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.models import IncomingEmail, Staff
from services.ticket_store.queries.staff import staff_department_ids

INCOMING_STATUSES = ("new", "converted", "deleted", "spam")


def incoming_for(
    session: Session, staff: Staff, status: str, *, offset: int = 0, limit: int = 100
) -> list[IncomingEmail]:
    """Newest first, only of the departments the staff member works in."""
    return list(
        session.scalars(
            select(IncomingEmail)
            .where(
                IncomingEmail.department_id.in_(staff_department_ids(staff)),
                IncomingEmail.status == status,
            )
            .order_by(IncomingEmail.received_at.desc(), IncomingEmail.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def all_incoming(session: Session) -> list[IncomingEmail]:
    """Every incoming email in arrival order, for administrators' tools (the CLI)."""
    return list(session.scalars(select(IncomingEmail).order_by(IncomingEmail.id)))
