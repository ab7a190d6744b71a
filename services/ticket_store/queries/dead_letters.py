"""Dead letters for administrators: the open ones first, newest first."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from services.ticket_store.models_operations import DeadLetterRecord, DeadLetterStatus

STATUSES = ("open", "reprocessing", "resolved", "all")


def dead_letters(
    session: Session, status: str = "open", offset: int = 0, limit: int = 51
) -> list[DeadLetterRecord]:
    """`status` one of STATUSES ("all": open, then reprocessing, then resolved)."""
    q = select(DeadLetterRecord)
    if status != "all":
        q = q.where(DeadLetterRecord.status == status)
    order = case(
        (DeadLetterRecord.status == DeadLetterStatus.OPEN, 0),
        (DeadLetterRecord.status == DeadLetterStatus.REPROCESSING, 1),
        else_=2,
    )
    q = q.order_by(order, DeadLetterRecord.last_at.desc(), DeadLetterRecord.id.desc())
    return list(session.scalars(q.offset(offset).limit(limit)))


def dead_letter(session: Session, letter_id: int) -> DeadLetterRecord | None:
    return session.get(DeadLetterRecord, letter_id)
