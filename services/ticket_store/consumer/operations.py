"""The store's operations consumer: what operators look at, kept up to date.

Reads, in its own consumer group (so it never slows the mail consumer down):
- `mail.raw`: where each mail is, and its sender and subject (the mail log);
- `mail.dead`: every dead letter with its reason (any stage);
- `fetcher.state`: the fetchers' `health:<gateway>` records (gateway health);
- `mail.outcomes`: the new outcome of a mail whose dead letter was reprocessed;
- `gateway.tokens`: OAuth2 token rotations and refused refreshes, onto the gateway.
Each poll is applied in one unit of work and committed before the offsets, and
every effect is idempotent, so a redelivered record changes nothing. Outcomes are
decoded only while some dead letter is being reprocessed (one lookup per poll):
the mail consumer records every outcome itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.kafka import RECONNECT
from kernel.oauth2.records import TokenRecord
from schemas import codec
from schemas.events import DeadLetter, Outcome, RawEmail
from services.ticket_store.actions import gateway_oauth2, operations
from services.ticket_store.consumer.batch import Record
from services.ticket_store.consumer.burst import BurstGate
from services.ticket_store.consumer.polling import next_offsets, polled
from services.ticket_store.db import Database, is_transient
from services.ticket_store.domain.raw_headers import HEADER_LIMIT, sender_and_subject
from services.ticket_store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

OPERATIONS_POLL_RECORDS = 2_000
HEALTH_PREFIX = b"health:"  # the fetcher's key for its health records on fetcher.state


class OperationsApplier:
    def __init__(self, settings: Settings) -> None:
        self.topics = settings.topics
        self.blobs = BlobStore(settings.blob_dir)

    @property
    def topic_names(self) -> list[str]:
        t = self.topics
        return [t.raw, t.dead, t.fetcher_state, t.outcomes, t.gateway_tokens]

    def apply(self, uow: UnitOfWork, records: Sequence[Record]) -> int:
        """Apply one poll's records; returns how many were of use."""
        t = self.topics
        sources: list[operations.RawLocation] = []
        outcomes: list[Record] = []
        used = 0
        for r in records:
            if r.topic == t.outcomes and r.value is not None:
                outcomes.append(r)  # read below, if a reprocessed dead letter waits for one
                continue
            try:
                if r.topic == t.raw and r.value is not None:
                    sources.append(self._location(r, RawEmail.model_validate_json(r.value)))
                elif r.topic == t.dead and r.value is not None:
                    operations.record_dead_letter(uow, codec.loads(DeadLetter, r.value))
                    used += 1
                elif r.topic == t.fetcher_state and (r.key or b"").startswith(HEALTH_PREFIX):
                    if r.value is None:
                        gateway = (r.key or b"")[len(HEALTH_PREFIX) :].decode(errors="replace")
                        operations.forget_health(uow, gateway)
                    else:
                        report = operations.HealthReport.model_validate_json(r.value)
                        operations.record_health(uow, report)
                    used += 1
                elif r.topic == t.gateway_tokens and r.value is not None:
                    record = TokenRecord.model_validate_json(r.value)  # rotations, failures
                    used += gateway_oauth2.record_tokens(uow, record)
            except ValueError as exc:  # not ours to fix: the router dead-letters bad mail
                log.info("operations: %s@%s skipped (%s)", r.topic, r.offset, str(exc)[:200])
        used += operations.record_sources(uow, sources)
        if outcomes and operations.reprocessing(uow):
            operations.resolve_from_outcomes(uow, self._outcomes(outcomes))
        return used

    @staticmethod
    def _outcomes(records: list[Record]) -> list[Outcome]:
        found = []
        for r in records:
            try:
                found.append(codec.loads(Outcome, r.value or b""))
            except ValueError as exc:  # the router's own record: not ours to fix
                log.info("operations: %s@%s skipped (%s)", r.topic, r.offset, str(exc)[:200])
        return found

    def _location(self, r: Record, raw: RawEmail) -> operations.RawLocation:
        head = raw.inline_bytes()
        if head is None:
            try:
                head = self.blobs.get(raw.blob_ref or "")[:HEADER_LIMIT]
            except (OSError, ValueError):
                head = b""  # the mail page says the blob is missing
        sender, subject = sender_and_subject(head)
        return operations.RawLocation(
            email_id=raw.email_id,
            gateway_id=raw.gateway_id,
            from_address=sender,
            subject=subject,
            size=raw.size,
            blob_ref=raw.blob_ref,
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            fetched_at=raw.fetched_at,
        )


class OperationsConsumer:
    def __init__(self, settings: Settings, db: Database, gate: BurstGate | None = None) -> None:
        self.settings = settings
        self.db = db
        self.applier = OperationsApplier(settings)
        self.stopping = threading.Event()
        self.gate = gate or BurstGate()  # one of its own is never busy: no wait

    def _wait_turn(self) -> None:
        if (waited := self.gate.wait_turn(self.stopping)) >= 1.0:
            log.info("operations: waited %.1fs while the mail consumer took a burst", waited)

    @property
    def group_id(self) -> str:
        return f"{self.settings.store_group_id}-operations"

    def apply_batch(self, records: Sequence[Record]) -> int:
        with self.db.unit_of_work(actor="mail") as uow:
            return self.applier.apply(uow, records)

    def run(self) -> None:
        """Until `stopping`; a database or broker outage is waited out, never fatal."""
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                self._consume()
                return
            except Exception as exc:
                log.error("operations consumer: %s: %s; again in %.1fs", type(exc).__name__,
                          str(exc).splitlines()[0] if str(exc) else "", backoff)  # fmt: skip
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _consume(self) -> None:
        consumer = KafkaConsumer(
            *self.applier.topic_names,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",  # mail.raw and fetcher.state are transactional
            # mail.raw records are mail-sized: fetch a full poll's worth per round trip and
            # let the broker gather it, so the log takes few, large transactions (on SQLite
            # each one holds the one write lock the mail consumer needs too). The log is
            # secondary to the tickets: in a burst it takes up to a second's mail at once
            # (fewer fetches, polls and commits: less CPU taken from the mail consumer),
            # so it runs up to about a second behind mail.raw.
            max_poll_records=OPERATIONS_POLL_RECORDS,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_min_bytes=8 * 1024 * 1024,
            fetch_max_wait_ms=1_000,
            client_id="supportdesk-store-operations",
            **RECONNECT,
        )
        try:
            for batches, records in polled(consumer, self.stopping, before=self._wait_turn):
                self.gate.polled(len(records), OPERATIONS_POLL_RECORDS)
                try:
                    self.apply_batch(records)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    for tp, recs in batches.items():  # again from the batch's start
                        consumer.seek(tp, recs[0].offset)
                    log.error("operations: database unavailable (%s); retrying", exc)
                    self.stopping.wait(1.0)
                    continue
                try:
                    consumer.commit(next_offsets(batches))
                except KafkaError as exc:
                    # Applied but not committed (a rebalance or the broker's restart): the
                    # records come again and change nothing (rows are keyed on offsets).
                    log.warning("operations: offset commit failed (%s); replaying", exc)
        finally:
            consumer.close(autocommit=False)


def start_operations(
    settings: Settings, db: Database, gate: BurstGate | None = None
) -> OperationsConsumer:
    """The consumer in a daemon thread of the store process; `stopping.set()` ends it."""
    consumer = OperationsConsumer(settings, db, gate)
    threading.Thread(target=consumer.run, name="store-operations", daemon=True).start()
    return consumer
