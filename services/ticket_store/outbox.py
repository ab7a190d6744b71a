"""Publishes outbox rows after their transaction committed.

At-least-once: a row is marked published only after the broker acknowledged
it, so a crash may publish a row twice but never loses one. Every event
carries an id (or is keyed by one) so consumers drop the repeat.

The relay publishes with aiokafka's producer, the rows of a batch built into one
record batch per partition (its C record builder, one future per batch), driven by
an event loop of the relay's own thread that runs only while a batch goes out.
kafka-python's producer cost ~35 us of CPU per event (a future, a lock and a
pure-Python record encoder per send, and a network thread of its own); this ~9
(10,000 ticket events on a local broker). acks=all and idempotence as everywhere
(kernel.kafka); each key goes to the partition Kafka's default partitioner picks
(murmur2), so a ticket's events stay in one partition, in their order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError as AIOKafkaError
from aiokafka.partitioner import DefaultPartitioner
from kafka.errors import KafkaError
from sqlalchemy import select, update

from kernel.config import Settings
from services.ticket_store.bulk import among
from services.ticket_store.db import Database, is_transient
from services.ticket_store.metrics import OUTBOX_PUBLISHED
from services.ticket_store.models import OutboxEvent

log = logging.getLogger(__name__)

# A broker that does not acknowledge a batch within this fails the publish: the rows stay
# pending and the relay starts over with a new producer.
SEND_TIMEOUT_S = 30.0
BROKER_ERRORS = (KafkaError, AIOKafkaError, TimeoutError)
_partition = DefaultPartitioner()


class OutboxRelay:
    def __init__(self, settings: Settings, db: Database, batch: int = 2000) -> None:
        self.settings = settings
        self.db = db
        self.batch = batch
        self.stopping = threading.Event()
        self._producer: AIOKafkaProducer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def publish_pending(self) -> int:
        """Publish one batch of pending rows (oldest first); returns how many went out.

        One query for the batch (the partial index holds only pending rows), one
        wait for the broker's acknowledgements, one UPDATE to mark them all (Core
        statements: the rows need no ORM objects; the ids as one array parameter on
        PostgreSQL).
        """
        rows = OutboxEvent.__table__.c
        with self.db.transaction() as s:
            pending = (
                s.connection()
                .execute(
                    select(rows.id, rows.topic, rows.key, rows.value)
                    .where(rows.published_at.is_(None))
                    .order_by(rows.id)
                    .limit(self.batch)
                )
                .all()
            )
        if not pending:
            return 0
        self._run(self._send(pending))  # raises if any batch failed: nothing is marked
        with self.db.unit_of_work(actor="outbox") as uow:
            published = among(uow.session, rows.id, [row_id for row_id, *_ in pending])
            uow.session.connection().execute(
                update(OutboxEvent.__table__)
                .where(published)
                .values(published_at=datetime.now(UTC))
            )
        OUTBOX_PUBLISHED.inc(len(pending))
        return len(pending)

    def _run(self, step: Any) -> Any:
        """Run a coroutine on the relay's own event loop (made on first use)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(step)

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                client_id="supportdesk-store-outbox",
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                # A relay batch is up to 2,000 events: a few produce requests, not one
                # per ~25 events as with 16 KB batches.
                max_batch_size=256 * 1024,
                request_timeout_ms=int(SEND_TIMEOUT_S * 1000),
                retry_backoff_ms=200,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _send(self, pending: Sequence[Any]) -> None:
        """Every row into one record batch per partition (more when one fills), sent at
        once; returns when the broker has acknowledged them all."""
        producer = await self._started()
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], Any] = {}
        sent: list[asyncio.Future[Any]] = []
        for _, topic, key, value in pending:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            every = partitions[topic]
            raw_key = key.encode()
            partition = _partition(raw_key, every, every)
            batch = open_batches.get((topic, partition))
            if batch is None or batch.append(key=raw_key, value=value, timestamp=None) is None:
                if batch is not None:  # full: out it goes, the row starts the next one
                    sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[(topic, partition)] = producer.create_batch()
                batch.append(key=raw_key, value=value, timestamp=None)
        for (topic, partition), batch in open_batches.items():
            sent.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.wait_for(asyncio.gather(*sent), timeout=SEND_TIMEOUT_S + 5)

    def run(self, idle_wait: float = 0.2, gather_wait: float = 0.2) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                sent = self.publish_pending()
                backoff = 0.5
            except BROKER_ERRORS as exc:
                log.warning("outbox relay: broker unavailable (%s); retrying",
                            str(exc) or type(exc).__name__)  # fmt: skip
                self._reset()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30)
                continue
            except Exception as exc:
                if is_transient(exc):  # the database is away: say so once per retry
                    log.warning("outbox relay: database unavailable (%s); retrying",
                                str(exc).splitlines()[0])  # fmt: skip
                else:
                    log.exception("outbox relay failed; retrying")
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30)
                continue
            if not sent:
                self.stopping.wait(idle_wait)
            elif sent < self.batch:
                # Caught up: let the next rows gather rather than publish (and mark, one
                # commit each) a handful at a time while the consumer is busy.
                self.stopping.wait(gather_wait)
        self.close()

    def close(self) -> None:
        """Stop the producer and the relay's event loop (the relay may be used again)."""
        self._reset()
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def _reset(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                self._run(asyncio.wait_for(producer.stop(), timeout=5))
            except Exception:  # closing a broken producer may fail too
                log.debug("producer close failed", exc_info=True)
