"""Quality control: a client rates a staff reply in their own ticket.

A score of 1 to 5 and an optional comment; rating the same reply again replaces
the rating. What administrators see is `queries.ratings`.
May import: `unit_of_work`, `domain`, the store's models.
"""

from __future__ import annotations

from sqlalchemy import select

from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Client, Message, ReplyRating, Ticket, utcnow
from services.ticket_store.unit_of_work import UnitOfWork

MIN_SCORE = 1
MAX_SCORE = 5
MAX_COMMENT = 2000


def rate_reply(
    uow: UnitOfWork,
    client: Client,
    message_id: int,
    score: int,
    comment: str = "",
    *,
    ticket_number: int | None = None,
) -> ReplyRating:
    """The client's rating of a staff reply in their own ticket (a new one, or replacing theirs).

    Another client's message, or one outside `ticket_number` when given, is
    reported as not existing (NotFound); a message that is not a staff reply, a
    score outside 1–5 or a comment over 2000 characters is a ValueError.
    """
    session = uow.session
    msg = session.get(Message, message_id)
    ticket = session.get(Ticket, msg.ticket_number) if msg is not None else None
    if (
        msg is None
        or ticket is None
        or ticket.client_id != client.id
        or (ticket_number is not None and ticket.number != ticket_number)
        or msg.direction == "note"  # clients never see notes: as if it did not exist
    ):
        raise NotFound(f"message {message_id}")
    if msg.direction != "out":
        raise ValueError("only a staff reply can be rated")
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError("the score is a whole number from 1 to 5")
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"the score is from {MIN_SCORE} to {MAX_SCORE}")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValueError(f"the comment is longer than {MAX_COMMENT} characters")
    rating = session.scalar(
        select(ReplyRating).where(
            ReplyRating.message_id == msg.id, ReplyRating.client_id == client.id
        )
    )
    replaced = rating is not None
    if rating is None:
        rating = ReplyRating(message_id=msg.id, client_id=client.id)
        session.add(rating)
    rating.score = score
    rating.comment = comment
    rating.rated_at = utcnow()
    uow.flush()
    uow.audit(
        "reply.rate",
        "message",
        msg.id,
        ticket=ticket.number,
        staff=msg.author_staff_id,
        score=score,
        replaced=replaced,
    )
    return rating
