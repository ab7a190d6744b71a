"""The mail log: every mail's outcome, newest first, searchable; and one mail's whole story.

Served by the `mail_outcomes` indexes of migration 0006 (decided_at, and gateway,
decision or rule with decided_at); sender and subject come from `mail_sources`.
Pages are fetched with one row more than shown, never counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.ticket_store.models import IncomingEmail, MailOutcome, Message, Ticket
from services.ticket_store.models_operations import DeadLetterRecord, MailSource


@dataclass(frozen=True)
class MailLogFilter:
    """What the log is searched by; empty fields do not filter. Sender and subject match
    anywhere, case-insensitively; gateway, decision and rule exactly; dates are UTC days."""

    sender: str = ""
    subject: str = ""
    gateway: str = ""
    decision: str = ""
    rule: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class MailLogRow:
    outcome: MailOutcome
    from_address: str
    subject: str


def _day(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def log_query(f: MailLogFilter) -> Select:
    q = select(MailOutcome, MailSource.from_address, MailSource.subject).outerjoin(
        MailSource, MailSource.email_id == MailOutcome.email_id
    )
    if f.gateway:
        q = q.where(MailOutcome.gateway_id == f.gateway)
    if f.decision:
        q = q.where(MailOutcome.decision == f.decision)
    if f.rule:
        q = q.where(MailOutcome.rule == f.rule)
    if f.since:
        q = q.where(MailOutcome.decided_at >= _day(f.since))
    if f.until:
        q = q.where(MailOutcome.decided_at < _day(f.until + timedelta(days=1)))
    if f.sender:
        q = q.where(MailSource.from_address.like(_like(f.sender), escape="\\"))
    if f.subject:
        q = q.where(func.lower(MailSource.subject).like(_like(f.subject), escape="\\"))
    return q.order_by(MailOutcome.decided_at.desc(), MailOutcome.email_id.desc())


def mail_log(session: Session, f: MailLogFilter, offset: int, limit: int) -> list[MailLogRow]:
    rows = session.execute(log_query(f).offset(offset).limit(limit)).all()
    return [MailLogRow(o, sender or "", subject or "") for o, sender, subject in rows]


def rules_seen(session: Session) -> list[str]:
    """The rules that decided something, for the search form."""
    return sorted(session.scalars(select(MailOutcome.rule).distinct()))


@dataclass(frozen=True)
class MailStory:
    """One mail: its outcome, where it is in mail.raw, what it became, its dead letters."""

    email_id: str
    outcome: MailOutcome | None
    source: MailSource | None
    ticket_number: int | None
    incoming_id: int | None
    dead_letters: list[DeadLetterRecord]


def mail_story(session: Session, email_id: str) -> MailStory | None:
    outcome = session.get(MailOutcome, email_id)
    source = session.get(MailSource, email_id)
    letters = list(
        session.scalars(
            select(DeadLetterRecord)
            .where(DeadLetterRecord.email_id == email_id)
            .order_by(DeadLetterRecord.id)
        )
    )
    if outcome is None and source is None and not letters:
        return None
    number = session.scalar(select(Ticket.number).where(Ticket.source_email_id == email_id))
    if number is None:
        number = session.scalar(
            select(Message.ticket_number).where(Message.source_email_id == email_id)
        )
    if number is None and outcome is not None and outcome.ticket_id:
        number = session.scalar(select(Ticket.number).where(Ticket.id == outcome.ticket_id))
    incoming = session.scalar(select(IncomingEmail.id).where(IncomingEmail.email_id == email_id))
    return MailStory(email_id, outcome, source, number, incoming, letters)
