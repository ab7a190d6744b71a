"""Reprocess dead letters: for the CLI and the web pages, over one unit of work.

What reprocessing means depends on the stage that dead-lettered the mail:
- `router.*` (the parse, a rule, the incidents ledger): the raw mail is read back
  from `mail.raw` and re-published there; the router runs today's rules on it and
  its outcome resolves the letter (the operations consumer sees it);
- `store:<topic>` (a ticket command, an incoming email, an outcome … the store
  could not apply): the record kept with the letter is applied again at once,
  as the consumer would; applied, the letter is resolved with the mail's outcome.
Letters that are no mail (a bad ledger item, a bad incident grant) have nothing
to re-publish and are refused with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kernel.blobs import BlobStore
from kernel.config import Settings
from services.ticket_store.actions import dead_letters
from services.ticket_store.consumer.batch import BatchApplier
from services.ticket_store.domain.dead_letters import reprocessable
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import MailOutcome
from services.ticket_store.models_operations import DeadLetterRecord, DeadLetterStatus, MailSource
from services.ticket_store.raw_archive import RawArchive, RawUnavailable
from services.ticket_store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Reprocessed:
    """What became of one letter: its status after, and in words."""

    letter_id: int
    email_id: str
    status: str
    message: str


@dataclass(frozen=True)
class _Record:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int = -1
    offset: int = -1


def reprocess(
    uow: UnitOfWork,
    settings: Settings,
    letter_ids: Iterable[int],
    archive: RawArchive | None = None,
) -> list[Reprocessed]:
    """Reprocess each letter (in one transaction); one that cannot be is reported, not fatal."""
    archive = archive or RawArchive(settings.kafka_bootstrap, BlobStore(settings.blob_dir))
    results = []
    for letter_id in dict.fromkeys(letter_ids):
        try:
            results.append(_one(uow, settings, letter_id, archive))
        except NotFound as exc:
            results.append(Reprocessed(letter_id, "", "unknown", f"not found: {exc}"))
    return results


def _one(uow: UnitOfWork, settings: Settings, letter_id: int, archive: RawArchive) -> Reprocessed:
    row = dead_letters.get(uow, letter_id)

    def said(message: str) -> Reprocessed:
        return Reprocessed(row.id, row.email_id, row.status, message)

    if row.status == DeadLetterStatus.RESOLVED:
        return said(f"already resolved ({row.result})")
    if row.status == DeadLetterStatus.REPROCESSING:
        return said("already re-published; waiting for the router's outcome")
    if row.payload is not None:
        return _apply_again(uow, settings, row, said)
    if not reprocessable(row.stage, row.email_id, kept_record=False):
        return said("not a mail: nothing to re-publish")
    source = uow.session.get(MailSource, row.email_id)
    if source is None:
        return said("the raw mail is not in the mail log (nothing to re-publish)")
    try:
        raw = archive.event(source.topic, source.partition, source.offset)
    except RawUnavailable as exc:
        return said(f"the raw mail cannot be read: {exc}")
    with uow.savepoint():
        dead_letters.republish(uow, row, settings.topics.raw, raw.gateway_id, raw)
    return said(f"re-published to {settings.topics.raw}")


def _apply_again(
    uow: UnitOfWork,
    settings: Settings,
    row: DeadLetterRecord,
    said: Callable[[str], Reprocessed],
) -> Reprocessed:
    key = row.source_key.encode() if row.source_key else None
    record = _Record(row.source_topic, key, row.payload)
    report = BatchApplier(settings.topics).apply(uow, [record])
    if report.dead:
        dead_letters.failed_again(uow, row)
        return said(f"failed again: {report.dead[0].reason}")
    outcome = uow.session.get(MailOutcome, row.email_id)
    dead_letters.applied(uow, row, outcome.decision if outcome is not None else "applied")
    return said(f"applied; the mail's outcome: {row.result}")
