"""The store's consumer: router output in, database rows out.

At-least-once delivery plus effects that are idempotent on the email id: each
record is applied in its own transaction, and the offset is committed only
after that transaction. A crash in between replays the record, which then
changes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata, TopicPartition
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from kernel.config import Settings
from schemas import codec
from schemas.events import (
    AddMessage,
    DeadLetter,
    DeliveryReport,
    IncidentsGranted,
    OpenTicket,
    Outcome,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store.actions import mail_commands
from services.ticket_store.db import Database
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import OutboxEvent

log = logging.getLogger(__name__)

T = TypeVar("T")

# Failures that go away by themselves: the record is retried, not dead-lettered.
TRANSIENT = (OperationalError, InterfaceError)


class Permanent(Exception):
    """A record that can never be applied: it goes to the dead-letter topic."""


def _decode(loader: Callable[[bytes], T], value: bytes, what: str) -> T:
    """Bytes to an event; what cannot be read is a permanent failure, not a crash."""
    try:
        return loader(value)
    except ValidationError as exc:
        raise Permanent(f"invalid {what}: {exc.errors()[:3]}") from exc


class StoreConsumer:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.db = db
        self.stopping = threading.Event()
        self.handlers: dict[str, Callable[[bytes], None]] = {
            self.topics.ticket_commands: self._ticket_command,
            self.topics.incoming: self._incoming,
            self.topics.outcomes: self._outcome,
            self.topics.delivery: self._delivery,
            self.topics.incidents: self._incidents,
        }

    # -------------------------------------------------------------- handlers

    def _ticket_command(self, value: bytes) -> None:
        cmd = _decode(codec.loads_ticket_command, value, "ticket command")
        with self.db.unit_of_work(actor="mail") as uow:
            if isinstance(cmd, OpenTicket):
                mail_commands.open_ticket_from_mail(uow, cmd)
            elif isinstance(cmd, AddMessage):
                try:
                    mail_commands.add_message_from_mail(uow, cmd)
                except NotFound as exc:
                    raise Permanent(f"add-message for an unknown ticket: {exc}") from exc

    def _incoming(self, value: bytes) -> None:
        event = _decode(partial(codec.loads, IncomingEmailEvent), value, "incoming email")
        with self.db.unit_of_work(actor="mail") as uow:
            mail_commands.record_incoming(uow, event)

    def _outcome(self, value: bytes) -> None:
        outcome = _decode(partial(codec.loads, Outcome), value, "outcome")
        with self.db.unit_of_work(actor="mail") as uow:
            mail_commands.record_outcome(uow, outcome)

    def _delivery(self, value: bytes) -> None:
        report = _decode(partial(codec.loads, DeliveryReport), value, "delivery report")
        with self.db.unit_of_work(actor="mail") as uow:
            mail_commands.record_delivery(
                uow, report.outbound_id, status=report.status, detail=report.detail
            )

    def _incidents(self, value: bytes) -> None:
        """Grants from external billing join the ledger; the store's own come back as no-ops."""
        grant = _decode(partial(codec.loads, IncidentsGranted), value, "incident grant")
        with self.db.unit_of_work(actor="billing") as uow:
            mail_commands.record_external_grant(uow, grant)

    # -------------------------------------------------------------- loop

    def apply(self, record: ConsumerRecord) -> None:
        """Apply one record; permanent failures become dead letters, never crashes."""
        handler = self.handlers.get(record.topic)
        if handler is None or record.value is None:
            return
        try:
            handler(record.value)
        except IntegrityError:
            # Another store instance applied the same email concurrently: already done.
            log.info("duplicate %s at %s:%s ignored", record.topic, record.partition, record.offset)
        except Permanent as exc:
            self._dead_letter(record, str(exc))
        except TRANSIENT:
            raise
        except Exception as exc:  # a bug must not stall the partition: record it
            log.exception("unexpected failure on %s@%s", record.topic, record.offset)
            self._dead_letter(record, f"unexpected {type(exc).__name__}: {exc}")

    def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        key = (record.key or b"").decode(errors="replace")
        log.warning("dead letter from %s@%s: %s", record.topic, record.offset, reason)
        letter = DeadLetter(email_id=key, stage=f"store:{record.topic}", reason=reason)
        with self.db.transaction() as s:
            s.add(OutboxEvent(topic=self.topics.dead, key=key, value=codec.dumps(letter)))

    def run(self) -> None:
        consumer = KafkaConsumer(
            *self.handlers,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.store_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=200,
        )
        backoff = 0.5
        try:
            while not self.stopping.is_set():
                batches = consumer.poll(timeout_ms=500)
                for tp, records in batches.items():
                    done = self._apply_partition(consumer, tp, records)
                    if done is not None:
                        consumer.commit({tp: OffsetAndMetadata(done + 1, "", -1)})
                        backoff = 0.5
                    if done is None or done != records[-1].offset:
                        # A transient failure: wait, the record is retried from its offset.
                        time.sleep(backoff)
                        backoff = min(backoff * 2, 30)
        finally:
            consumer.close(autocommit=False)

    def _apply_partition(
        self, consumer: KafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> int | None:
        """Apply records in order; return the last offset applied, or None."""
        last: int | None = None
        for record in records:
            try:
                self.apply(record)
            except TRANSIENT as exc:
                log.error("database unavailable (%s); will retry offset %s", exc, record.offset)
                consumer.seek(tp, record.offset)
                return last
            last = record.offset
        return last


def run_store(settings: Settings) -> None:
    """The `supportdesk store` process: the consumer and the outbox relay."""
    from services.ticket_store.outbox import OutboxRelay

    db = Database(settings.database_url, topics=settings.topics)
    relay = OutboxRelay(settings, db)
    consumer = StoreConsumer(settings, db)
    relay_thread = threading.Thread(target=relay.run, name="outbox-relay", daemon=True)
    relay_thread.start()
    try:
        consumer.run()
    finally:
        relay.stopping.set()
        relay_thread.join(timeout=10)
        db.dispose()
