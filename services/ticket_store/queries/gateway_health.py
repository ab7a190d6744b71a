"""What the gateway-health page and `gateway list` need: per gateway, the fetcher's latest
report and the mail counts (taken in the last hour and day; taken and not yet decided)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.ticket_store.models import Gateway, MailOutcome
from services.ticket_store.models_operations import GatewayHealthRecord, MailSource


@dataclass(frozen=True)
class GatewayFacts:
    gateway: Gateway
    health: GatewayHealthRecord | None
    mails_last_hour: int
    mails_last_day: int
    undecided: int
    oldest_undecided: datetime | None


def _counts_since(session: Session, since: datetime) -> dict[str, int]:
    rows = session.execute(
        select(MailSource.gateway_id, func.count())
        .where(MailSource.fetched_at >= since)
        .group_by(MailSource.gateway_id)
    )
    return {g: int(n) for g, n in rows}


def gateway_facts(session: Session, now: datetime) -> list[GatewayFacts]:
    """Every gateway, by name, with its facts as of `now`."""
    hour = _counts_since(session, now - timedelta(hours=1))
    day = _counts_since(session, now - timedelta(days=1))
    undecided = {
        g: (int(n), oldest)
        for g, n, oldest in session.execute(
            select(MailSource.gateway_id, func.count(), func.min(MailSource.fetched_at))
            .outerjoin(MailOutcome, MailOutcome.email_id == MailSource.email_id)
            .where(MailOutcome.email_id.is_(None))
            .group_by(MailSource.gateway_id)
        )
    }
    health = {h.gateway_id: h for h in session.scalars(select(GatewayHealthRecord))}
    facts = []
    for g in session.scalars(select(Gateway).order_by(Gateway.name)):
        count, oldest = undecided.get(g.id, (0, None))
        facts.append(
            GatewayFacts(g, health.get(g.id), hour.get(g.id, 0), day.get(g.id, 0), count, oldest)
        )
    return facts
