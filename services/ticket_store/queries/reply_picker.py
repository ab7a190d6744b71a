"""The Auto-reply window: the pre-defined replies a staff member may use on a ticket,
filled in for it, and the one they picked. The API's send endpoint and the web's
reply form both pick through `pick_reply`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.replies import fill_placeholders
from services.ticket_store.models import PredefinedReply, Staff, Ticket
from services.ticket_store.queries.replies import replies_for, reply_placeholders


@dataclass(frozen=True)
class OfferedReply:
    """A reply the staff member may use here, and its text with this ticket's values."""

    reply: PredefinedReply
    text: str


def offered_replies(session: Session, staff: Staff, ticket: Ticket) -> list[OfferedReply]:
    values = reply_placeholders(session, ticket, staff)
    return [
        OfferedReply(r, fill_placeholders(r.text, values))
        for r in replies_for(session, staff, ticket.department_id)
    ]


def pick_reply(
    session: Session, staff: Staff, ticket: Ticket, reply_id: int | None
) -> OfferedReply:
    """The reply `reply_id`, filled in, if this staff member may use it on this ticket."""
    for offered in offered_replies(session, staff, ticket):
        if offered.reply.id == reply_id:
            return offered
    raise NotFound(f"pre-defined reply {reply_id} for you here")
