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


def pick_reply(session: Session, staff: Staff, ticket: Ticket, reply_id: int | str) -> OfferedReply:
    """The reply `reply_id` (as given: a number, or a form's text), filled in, if this staff
    member may use it on this ticket."""
    wanted = str(reply_id).strip()
    for offered in offered_replies(session, staff, ticket):
        if str(offered.reply.id) == wanted:
            return offered
    raise NotFound(f"pre-defined reply {wanted} for you here")


def reply_text(
    session: Session, staff: Staff, ticket: Ticket, typed: str, reply_id: int | str | None
) -> tuple[str, int | None]:
    """What a reply sends, and the pre-defined reply it started from: the typed text, or,
    with a reply picked and nothing typed, that reply filled in for this ticket."""
    if reply_id is None or not str(reply_id).strip():
        return typed, None
    picked = pick_reply(session, staff, ticket, reply_id)
    return (typed if typed.strip() else picked.text), picked.reply.id
