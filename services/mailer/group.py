"""The mailer in its consumer group: poll mail.outbound, hand each record to the
Mailer, commit, retry the queue between polls.

Ownership is proved, not assumed: every send and every ``queued`` state goes through
services.mailer.fence first (a synchronous commit of the record in hand), so a member
that lost a partition without knowing it yet sends nothing of it. When the proof
fails, the partition's records from the one in hand on are left uncommitted and
sought back: the owner sends them, or this instance does, if it still owns the
partition once it has rejoined.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from kernel.kafka import group_membership, poll_or_wait
from services.mailer.fence import Fenced, PartitionFence
from services.mailer.ledger import SentLedger

if TYPE_CHECKING:
    from services.mailer.worker import Mailer

log = logging.getLogger(__name__)


def consume(mailer: Mailer) -> None:
    """Until ``mailer.stopping`` is set."""
    settings = mailer.settings
    owned = _Ownership()
    session_ms = int(settings.mailer_session_timeout_s * 1000)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.mailer_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # A dead mailer's partitions (and queued mail) move within the session
        # timeout, not kafka-python's 45 s; a poll's mail is sent (or queued for
        # retry) well within max_poll_interval_ms.
        session_timeout_ms=session_ms,
        heartbeat_interval_ms=min(3_000, session_ms // 3),
        max_poll_records=100,
        max_poll_interval_ms=300_000,
        **group_membership(settings, "mailer"),
    )
    fence = PartitionFence(consumer, settings.topics.outbound)
    mailer.ledger.fence = fence.check
    mailer.ledger.ensure_topic()
    consumer.subscribe([settings.topics.outbound], listener=owned)
    try:
        while not mailer.stopping.is_set():
            batch = poll_or_wait(consumer, mailer.stopping)
            # Before any record or retry: forget what moved away, load what came in.
            owned.apply(mailer.ledger, fence)
            deadline = time.monotonic() + mailer.BATCH_BUDGET_S
            for tp, records in batch.items():
                handled, fenced = 0, False
                for r in records:
                    if time.monotonic() > deadline:
                        break
                    fence.at(tp.partition, r.offset)
                    if r.value is not None:
                        try:
                            mailer.handle(r.value, partition=tp.partition)
                        except Fenced:
                            fenced = True
                            break
                    if mailer.stopping.is_set():
                        return
                    handled += 1
                if fenced:  # to the owner, or to this instance again once it has rejoined
                    _seek(consumer, tp, records[handled].offset)
                    continue
                if handled:  # each is sent, settled or queued in the ledger by now
                    done = records[handled - 1].offset + 1
                    _commit(consumer, tp, done)
                    fence.at(tp.partition, done)
                if handled < len(records):
                    log.info("%s: %d records left for the next poll", tp, len(records) - handled)
                    _seek(consumer, tp, records[handled].offset)
            # Bounded, so poll() comes round well within max.poll.interval.ms.
            mailer.retry_due(budget_s=60.0)
    finally:
        consumer.close(autocommit=False)
        mailer.ledger.close()


def _commit(consumer: KafkaConsumer, tp: TopicPartition, offset: int) -> None:
    try:
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1)})
    except KafkaError as exc:
        # Fenced or rebalanced away (seen after a broker restart: UnknownMemberId): the
        # next poll rejoins, and the partition's owner finds these in the sent ledger.
        log.warning("offset commit failed (%s); the records will be seen again", exc)


def _seek(consumer: KafkaConsumer, tp: TopicPartition, offset: int) -> None:
    try:
        consumer.seek(tp, offset)
    except (KafkaError, ValueError) as exc:  # no longer assigned: the owner has them
        log.info("%s: not sought back to %d (%s)", tp, offset, exc)


class _Ownership(ConsumerRebalanceListener):
    """Partition moves, noted on the consumer's IO thread and applied to the ledger by
    the mailer's thread after poll() returns (loading blocks; a listener must not).
    The group's rule that every member gives up partitions before any member takes
    them means the ledger is complete when the new owner loads it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._moves: list[tuple[bool, list[int]]] = []

    def _note(self, take: bool, tps: list[TopicPartition]) -> None:
        with self._lock:
            self._moves.append((take, [tp.partition for tp in tps]))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._note(True, assigned)

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._note(False, revoked)

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        self._note(False, lost)

    def apply(self, ledger: SentLedger, fence: PartitionFence) -> None:
        with self._lock:
            moves, self._moves = self._moves, []
        for take, partitions in moves:
            if take:
                ledger.take(partitions)
            else:
                ledger.release(partitions)
                for p in partitions:
                    fence.forget(p)
