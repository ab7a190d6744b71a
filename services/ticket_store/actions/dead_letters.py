"""Administrators' reprocessing of dead letters, as the unit of work records it.

A router-stage letter is reprocessed by re-publishing the raw mail to `mail.raw`:
the router runs today's rules on it, and the outcome it records resolves the
letter (`operations.resolve_from_outcomes`). A store-stage letter is applied
again at once from the record kept with it. Both are idempotent: the router and
the store are idempotent on the email id, and a letter already re-published or
resolved is left alone.
"""

from __future__ import annotations

from schemas.events import RawEmail
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models_operations import DeadLetterRecord, DeadLetterStatus
from services.ticket_store.timestamps import utcnow
from services.ticket_store.unit_of_work import UnitOfWork


def get(uow: UnitOfWork, letter_id: int) -> DeadLetterRecord:
    row = uow.session.get(DeadLetterRecord, letter_id)
    if row is None:
        raise NotFound(f"dead letter {letter_id}")
    return row


def _started(uow: UnitOfWork, row: DeadLetterRecord, how: str) -> None:
    row.reprocess_count += 1
    row.reprocessed_at = utcnow()
    row.reprocessed_by = uow.actor[:200]
    uow.audit(
        "reprocess dead letter", "dead_letter", row.id,
        email_id=row.email_id, stage=row.stage, how=how,
    )  # fmt: skip


def republish(uow: UnitOfWork, row: DeadLetterRecord, topic: str, key: str, raw: RawEmail) -> None:
    """The raw mail goes to the router again; the letter waits for the mail's new outcome."""
    uow.emit(topic, key, raw)
    _started(uow, row, f"re-published to {topic}")
    row.status = DeadLetterStatus.REPROCESSING


def applied(uow: UnitOfWork, row: DeadLetterRecord, result: str) -> None:
    """The kept record was applied this time: the letter is resolved with `result`."""
    _started(uow, row, f"applied again from {row.source_topic}")
    row.status = DeadLetterStatus.RESOLVED
    row.resolved_at = utcnow()
    row.result = result[:64]


def failed_again(uow: UnitOfWork, row: DeadLetterRecord) -> None:
    """Applied again and refused again: the letter stays open (its reason is the new one)."""
    _started(uow, row, f"applied again from {row.source_topic}; failed")
    row.status = DeadLetterStatus.OPEN
