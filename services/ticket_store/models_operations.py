"""What operators look at: dead letters, where each raw mail is, and gateway health.

Filled by the store's operations consumer (`consumer/operations.py`) from
`mail.dead`, `mail.raw` and the fetchers' health records on `fetcher.state`;
the mail log joins `mail_sources` to `mail_outcomes` (migration 0006).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.ticket_store.models import Base, MailOutcome
from services.ticket_store.timestamps import UtcDateTime, utcnow


class DeadLetterStatus:
    OPEN = "open"  # waiting for an administrator
    REPROCESSING = "reprocessing"  # re-published to the router; its new outcome not yet seen
    RESOLVED = "resolved"


class DeadLetterRecord(Base):
    """One `mail.dead` record per mail and stage; a repeat of the same failure counts up.

    Store-stage letters keep the record that failed (`payload`), so reprocessing
    applies it again; router-stage letters are reprocessed from `mail.raw`.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        UniqueConstraint("email_id", "stage", name="uq_dead_letters_email_stage"),
        Index("ix_dead_letters_status_last", "status", "last_at"),
        Index("ix_dead_letters_last", "last_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(100))
    gateway_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=DeadLetterStatus.OPEN)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    source_topic: Mapped[str] = mapped_column(String(255), default="")
    source_key: Mapped[str] = mapped_column(String(998), default="")
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    reprocess_count: Mapped[int] = mapped_column(Integer, default=0)
    reprocessed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reprocessed_by: Mapped[str] = mapped_column(String(200), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The mail's decision after reprocessing (or "applied" for a record with no outcome).
    result: Mapped[str] = mapped_column(String(64), default="")


class MailSource(Base):
    """Where a raw mail is in `mail.raw`, with what the mail log searches by.

    The bytes stay in `mail.raw` (or the blob store, for a claim check): the
    mail page and reprocessing read them from there.
    """

    __tablename__ = "mail_sources"
    __table_args__ = (
        Index("ix_mail_sources_gateway_fetched", "gateway_id", "fetched_at"),
        Index("ix_mail_sources_from", "from_address"),
    )

    email_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str] = mapped_column(String(64))
    from_address: Mapped[str] = mapped_column(String(320), default="")  # lower case
    subject: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    blob_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    topic: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class GatewayHealthRecord(Base):
    """The latest health a fetcher reported for a gateway (never a password: the fetcher
    strips it from errors before publishing, and nothing else is kept)."""

    __tablename__ = "gateway_health"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="starting")
    idle: Mapped[bool] = mapped_column(Boolean, default=False)
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    mails_taken: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# The mail log's orderings and filters on the router's outcomes (newest first).
MAIL_OUTCOME_INDEXES = (
    Index("ix_mail_outcomes_decided", MailOutcome.decided_at, MailOutcome.email_id),
    Index("ix_mail_outcomes_gateway_decided", MailOutcome.gateway_id, MailOutcome.decided_at),
    Index("ix_mail_outcomes_decision_decided", MailOutcome.decision, MailOutcome.decided_at),
    Index("ix_mail_outcomes_rule_decided", MailOutcome.rule, MailOutcome.decided_at),
)

__all__ = [
    "DeadLetterRecord",
    "DeadLetterStatus",
    "GatewayHealthRecord",
    "MailSource",
]
