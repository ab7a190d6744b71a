"""What the operations consumer records: raw mail locations, dead letters, gateway health,
and the outcome that resolves a reprocessed dead letter.

Each is idempotent on its key (email id; email id and stage; gateway id), so a
redelivered record changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from schemas.events import DeadLetter, Decision, Outcome
from schemas.gateway_health import GatewayHealth
from services.ticket_store.actions import replayed_mail
from services.ticket_store.bulk import among, insert_rows
from services.ticket_store.models_operations import (
    DeadLetterRecord,
    DeadLetterStatus,
    GatewayHealthRecord,
    MailSource,
)
from services.ticket_store.timestamps import utcnow
from services.ticket_store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RawLocation:
    """One `mail.raw` record as the mail log keeps it."""

    email_id: str
    gateway_id: str
    from_address: str
    subject: str
    size: int
    blob_ref: str | None
    topic: str
    partition: int
    offset: int
    fetched_at: datetime


def record_sources(uow: UnitOfWork, sources: Sequence[RawLocation]) -> int:
    """Rows for the raw mails not yet known; the first record of a mail wins (a fetcher or a
    reprocessing re-publishing the same mail points at the same bytes), except that a row
    whose sender and subject could not be read (a blob missing then) takes them from a
    later record. Returns how many were new."""
    wanted = {s.email_id: s for s in sources}
    if not wanted:
        return 0
    have = {
        row.email_id: row
        for row in uow.session.scalars(
            select(MailSource).where(among(uow.session, MailSource.email_id, wanted))
        )
    }
    for email_id, row in have.items():
        later = wanted[email_id]
        if not (row.from_address or row.subject) and (later.from_address or later.subject):
            row.from_address, row.subject = later.from_address, later.subject
    new = [s for eid, s in wanted.items() if eid not in have]
    # One COPY or executemany: an ORM object per row cost more than the row.
    insert_rows(uow.session, MailSource.__table__, [vars(s) for s in new])
    return len(new)


class HealthReport(GatewayHealth):
    """A fetcher's health record as the store takes it: reports are ordered by their time,
    so one without it is refused rather than stamped now."""

    updated_at: datetime


def record_health(uow: UnitOfWork, report: HealthReport) -> GatewayHealthRecord:
    """The latest report per gateway; an older one (out of order) changes nothing."""
    row = uow.session.get(GatewayHealthRecord, report.gateway_id)
    if row is None:
        row = GatewayHealthRecord(gateway_id=report.gateway_id, reported_at=report.updated_at)
        uow.session.add(row)
    elif row.reported_at > report.updated_at:
        return row
    for name in ("owner", "status", "idle", "last_success", "last_error", "last_error_at",
                 "consecutive_failures", "mails_taken"):  # fmt: skip
        setattr(row, name, getattr(report, name))
    row.last_error = row.last_error[:2000]
    row.reported_at = report.updated_at
    return row


def forget_health(uow: UnitOfWork, gateway_id: str) -> None:
    """A tombstone: the gateway is gone from the fetchers."""
    row = uow.session.get(GatewayHealthRecord, gateway_id)
    if row is not None:
        uow.session.delete(row)


def record_dead_letter(
    uow: UnitOfWork,
    letter: DeadLetter,
    *,
    source_topic: str = "",
    source_key: str = "",
    payload: bytes | None = None,
) -> DeadLetterRecord:
    """One row per mail and stage. A repeat of a letter already seen (same time) changes
    nothing; a newer one (the mail failed again, e.g. after reprocessing) reopens it."""
    email_id = letter.email_id[:200]
    stage = letter.stage[:100]
    row = uow.session.scalar(
        select(DeadLetterRecord).where(
            DeadLetterRecord.email_id == email_id, DeadLetterRecord.stage == stage
        )
    )
    if row is None:
        row = DeadLetterRecord(
            email_id=email_id,
            stage=stage,
            gateway_id=letter.gateway_id[:64],
            reason=letter.reason,
            status=DeadLetterStatus.OPEN,
            occurrences=1,
            first_at=letter.at,
            last_at=letter.at,
            source_topic=source_topic,
            source_key=source_key[:998],
            payload=payload,
            reprocess_count=0,
            reprocessed_by="",
            result="",
        )
        uow.session.add(row)
        return row
    if payload is not None:  # the store's own letter: what it failed on, for reprocessing
        row.source_topic, row.source_key, row.payload = source_topic, source_key[:998], payload
    if letter.at > row.last_at:
        row.occurrences += 1
        row.last_at = letter.at
        row.reason = letter.reason
        if row.status != DeadLetterStatus.OPEN:
            row.status = DeadLetterStatus.OPEN
            row.resolved_at = None
            row.result = ""
    return row


def reprocessing(uow: UnitOfWork) -> bool:
    """Whether any dead letter waits for its mail's new outcome (one indexed lookup): the
    operations consumer reads every outcome, and has use for one only then."""
    waiting = select(DeadLetterRecord.id).where(
        DeadLetterRecord.status == DeadLetterStatus.REPROCESSING
    )
    return uow.session.scalar(waiting.limit(1)) is not None


def resolve_from_outcomes(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> int:
    """Outcomes of mails being reprocessed: each becomes the mail's outcome (replacing the
    one recorded before, if older) and resolves its dead letters. A `malformed` outcome
    resolves nothing: the router dead-letters the mail again, which reopens the letter.
    Returns how many dead letters were resolved."""
    latest: dict[str, Outcome] = {}
    for o in outcomes:
        latest[o.email_id] = o
    if not latest:
        return 0
    rows = list(
        uow.session.scalars(
            select(DeadLetterRecord).where(
                DeadLetterRecord.status == DeadLetterStatus.REPROCESSING,
                among(uow.session, DeadLetterRecord.email_id, latest),
            )
        )
    )
    resolved = 0
    for row in rows:
        outcome = latest[row.email_id]
        # No clock comparison with the reprocessing (the router's clock is not ours): the
        # outcome a router dead letter came with is always `malformed`, which resolves nothing.
        replayed_mail.replace_outcomes(uow, [outcome])  # its newest decision
        if outcome.decision is Decision.MALFORMED:
            continue
        row.status = DeadLetterStatus.RESOLVED
        row.resolved_at = utcnow()
        row.result = outcome.decision.value
        resolved += 1
    return resolved
