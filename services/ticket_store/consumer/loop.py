"""The store's Kafka loop: poll, apply the batch in one transaction, then commit offsets.

At-least-once delivery plus effects that are idempotent on the email id: the
offsets are committed only after the database commit, so a crash in between
(kill -9 included) replays the batch, which then changes nothing. A transient
database error rolls the batch back and retries it from its first offsets with
backoff; it is never dead-lettered.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from kernel import health
from kernel.config import Settings
from kernel.kafka import group_membership, wait_for_broker
from kernel.lag import start_sampler
from services.ticket_store import metrics
from services.ticket_store.consumer.batch import BatchApplier, BatchReport, Record
from services.ticket_store.consumer.burst import BurstGate
from services.ticket_store.consumer.polling import next_offsets, polled
from services.ticket_store.db import Database, is_transient

log = logging.getLogger(__name__)

# The store runs six busy threads (two consumers, the outbox relay, and kafka-python's
# network thread of each client), and CPython takes the GIL from a running thread every
# 5 ms while another waits for it: each hand-off is a wake-up and a cache refill. At
# 50 ms the store spent ~10% less CPU per mail (bench/store_bench.py); nothing in the
# process needs a reply within 50 ms (health and metrics answer seconds-scale polls).
SWITCH_INTERVAL_S = 0.05


@dataclass(frozen=True)
class ConsumerOptions:
    """Kafka consumer settings: a dead store leaves the group in `session_timeout_ms`; one
    batch (up to `max_poll_records`) must be applied within `max_poll_interval_ms`."""

    # Up to four batches' worth of a burst per transaction: with 500 the PostgreSQL store
    # ended a 5,000-mail burst 1.3 s after the router's last outcome, with 2,000 0.8-0.9 s.
    max_poll_records: int = 2000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    # Router output records carry the mail text: fetch enough for a full batch at once,
    # and let the broker gather up to fetch_min_bytes (or wait fetch_max_wait_ms): a
    # store that keeps up otherwise applies (and commits) a few records at a time.
    max_partition_fetch_bytes: int = 8 * 1024 * 1024
    fetch_min_bytes: int = 1024 * 1024
    fetch_max_wait_ms: int = 100  # the end of a burst waits this long for fetch_min_bytes
    stats_every_s: float = 10.0
    # A retry against a database that is down costs one failed connect: retrying every
    # 2 s at most keeps the stall after its return to about 2 s (issue 12: a 30 s cap
    # turned a 20 s database stop into a 33 s stall).
    backoff_first_s: float = 0.5
    backoff_max_s: float = 2.0

    def kafka_settings(self) -> dict[str, int]:
        """The KafkaConsumer settings among these options (all but the store's own)."""
        own = {"stats_every_s", "backoff_first_s", "backoff_max_s"}
        return {name: value for name, value in asdict(self).items() if name not in own}


class _Stats:
    """Records and batches applied, logged every `every_s` while there is traffic."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.records = self.batches = self.dead = 0
        self.since = time.monotonic()
        self.cpu = time.process_time()

    def add(self, records: int, dead: int) -> None:
        self.records += records
        self.batches += 1
        self.dead += dead
        now = time.monotonic()
        if now - self.since >= self.every_s:
            cpu = time.process_time()
            log.info(
                "store: %d records in %d transactions (%d dead letters) in %.0fs; "
                "process cpu %.2fs", self.records, self.batches, self.dead, now - self.since,
                cpu - self.cpu,
            )  # fmt: skip
            self.records = self.batches = self.dead = 0
            self.since, self.cpu = now, cpu


class StoreConsumer:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        options: ConsumerOptions | None = None,
        gate: BurstGate | None = None,
    ) -> None:
        self.gate = gate or BurstGate()  # told each poll's size: the operations consumer waits
        self.settings = settings
        self.topics = settings.topics
        self.db = db
        self.options = options or ConsumerOptions()
        self.applier = BatchApplier(settings.topics)
        self.stopping = threading.Event()
        self.stats = _Stats(self.options.stats_every_s)

    def apply_batch(self, records: Sequence[Record]) -> BatchReport:
        """Apply records in one unit of work; raises a transient error after rolling back."""
        with self.db.unit_of_work(actor="mail") as uow:
            return self.applier.apply(uow, records)

    def run(self) -> None:
        o = self.options
        consumer = KafkaConsumer(
            *self.applier.topic_names,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.store_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **o.kafka_settings(),
            **group_membership(self.settings, "store"),
        )
        backoff = o.backoff_first_s
        try:
            for batches, records in polled(consumer, self.stopping):
                self.gate.saw(len(records))
                try:
                    with metrics.BATCH_SECONDS.time():
                        report = self.apply_batch(records)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.error(
                        "database unavailable (%s: %s); retrying %d records in %.1fs",
                        type(exc).__name__, str(exc).splitlines()[0], len(records), backoff,
                    )  # fmt: skip
                    self._rewind(consumer, batches)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, o.backoff_max_s)
                    continue
                backoff = o.backoff_first_s
                self.gate.saw(len(records))  # the burst lasts hold_s past the batch's end too
                self._commit(consumer, batches)
                self.stats.add(len(records), len(report.dead))
                metrics.RECORDS.labels("applied").inc(len(records) - len(report.dead))
                metrics.RECORDS.labels("dead").inc(len(report.dead))
        finally:
            consumer.close(autocommit=False)

    @staticmethod
    def _rewind(consumer: KafkaConsumer, batches: dict[TopicPartition, list]) -> None:
        """Back to each partition's first record of the batch (if still ours)."""
        owned = consumer.assignment()
        for tp, recs in batches.items():
            if tp in owned:
                consumer.seek(tp, recs[0].offset)

    @staticmethod
    def _commit(consumer: KafkaConsumer, batches: dict[TopicPartition, list]) -> None:
        try:
            consumer.commit(next_offsets(batches))
        except KafkaError as exc:
            # Applied but not committed (e.g. a rebalance took the partitions): the next
            # owner replays these records, which changes nothing.
            log.warning("offset commit failed (%s); the records will be replayed", exc)


def run_store(settings: Settings) -> None:
    """The `supportdesk store` process: the consumer and the outbox relay.

    SIGTERM lets the current batch finish and its offsets be committed, then closes.
    """
    from services.ticket_store.consumer.operations import start_operations
    from services.ticket_store.outbox import OutboxRelay

    sys.setswitchinterval(SWITCH_INTERVAL_S)
    db = Database(settings.database_url, topics=settings.topics)
    # Started while a part is down, the store waits (its state says so) instead of exiting.
    health.serve(settings.health_port)
    wait_for_broker(settings)
    db.wait_until_reachable()
    health.set_state("running")
    relay = OutboxRelay(settings, db)
    gate = BurstGate()  # tickets first: the mail log waits while a burst lasts
    consumer = StoreConsumer(settings, db, gate=gate)
    start_sampler(
        settings.kafka_bootstrap, settings.store_group_id, set(consumer.applier.topic_names)
    )
    metrics.start_backlog_sampler(db)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: consumer.stopping.set())
    relay_thread = threading.Thread(target=relay.run, name="outbox-relay", daemon=True)
    relay_thread.start()
    operations = start_operations(settings, db, gate)  # dead letters, mail log, gateway health
    try:
        consumer.run()
    finally:
        operations.stopping.set()
        relay.stopping.set()
        relay_thread.join(timeout=10)
        db.dispose()
