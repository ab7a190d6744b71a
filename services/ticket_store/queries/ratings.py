"""Ratings of staff replies: a client's own, and the report administrators see.

Staff never see ratings: nothing in the staff views reads this table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.ticket_store.models import Client, Message, ReplyRating, Staff


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
