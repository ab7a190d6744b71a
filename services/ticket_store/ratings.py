"""Quality control: clients rate staff replies; administrators see the ratings.

A client rates a staff reply (direction "out") in their own ticket with a score
of 1 to 5 and an optional comment; rating the same reply again replaces the
rating. Staff never see ratings: nothing in the staff views reads this table,
only `ratings_report` (administrators) and `client_ratings` (the client's own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.ticket_store import service
from services.ticket_store.models import Client, Message, ReplyRating, Staff, Ticket, utcnow

MIN_SCORE = 1
MAX_SCORE = 5
MAX_COMMENT = 2000


def rate_reply(
    session: Session,
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
    msg = session.get(Message, message_id)
    ticket = session.get(Ticket, msg.ticket_number) if msg is not None else None
    if (
        msg is None
        or ticket is None
        or ticket.client_id != client.id
        or (ticket_number is not None and ticket.number != ticket_number)
        or msg.direction == "note"  # clients never see notes: as if it did not exist
    ):
        raise service.NotFound(f"message {message_id}")
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
    session.flush()
    service.audit(
        session,
        f"client:{client.id}",
        "reply.rate",
        "message",
        msg.id,
        ticket=ticket.number,
        staff=msg.author_staff_id,
        score=score,
        replaced=replaced,
    )
    return rating


def client_ratings(
    session: Session, client_id: int, message_ids: Iterable[int]
) -> dict[int, ReplyRating]:
    """The client's own ratings of the given messages, by message id."""
    wanted = list(message_ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(ReplyRating).where(
            ReplyRating.client_id == client_id, ReplyRating.message_id.in_(wanted)
        )
    )
    return {r.message_id: r for r in rows}


@dataclass(frozen=True)
class RatedReply:
    ticket_number: int
    message_id: int
    client_id: int
    client_name: str
    score: int
    comment: str
    rated_at: datetime


@dataclass(frozen=True)
class StaffRatings:
    staff_id: int
    staff_name: str
    count: int
    average: float
    recent: list[RatedReply]


def ratings_report(session: Session, *, recent: int = 10) -> list[StaffRatings]:
    """For administrators: per staff member who has rated replies, how many ratings,
    their average (two decimals) and the newest `recent` of them, best average first."""
    totals = session.execute(
        select(
            Message.author_staff_id,
            func.count(ReplyRating.id),
            func.avg(ReplyRating.score),
        )
        .join(Message, Message.id == ReplyRating.message_id)
        .where(Message.author_staff_id.is_not(None))
        .group_by(Message.author_staff_id)
    ).all()
    report = []
    for staff_id, count, average in totals:
        staff = session.get(Staff, staff_id)
        rows = session.execute(
            select(ReplyRating, Message.ticket_number, Client.name)
            .join(Message, Message.id == ReplyRating.message_id)
            .join(Client, Client.id == ReplyRating.client_id)
            .where(Message.author_staff_id == staff_id)
            .order_by(ReplyRating.rated_at.desc(), ReplyRating.id.desc())
            .limit(recent)
        ).all()
        report.append(
            StaffRatings(
                staff_id=staff_id,
                staff_name=staff.name if staff else f"staff {staff_id}",
                count=int(count),
                average=round(float(average), 2),
                recent=[
                    RatedReply(
                        ticket_number=number,
                        message_id=r.message_id,
                        client_id=r.client_id,
                        client_name=client_name,
                        score=r.score,
                        comment=r.comment,
                        rated_at=r.rated_at,
                    )
                    for r, number, client_name in rows
                ],
            )
        )
    report.sort(key=lambda e: (-e.average, e.staff_name))
    return report
