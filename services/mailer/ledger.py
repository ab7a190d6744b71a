"""The mailer's sent ledger and retry queue, shared by every mailer instance through Kafka.

One compacted topic, `mail.sent` (Topics.sent), keyed by outbound id, holds the latest
state of every outbound email: ``queued`` (the OutboundEmail bytes as the value, the
retry schedule in headers), ``sent`` or ``failed`` (empty value). It has as many
partitions as `mail.outbound`, and a state is written to the *same partition number*
as the outbound record it belongs to (co-partitioning; mail.outbound is keyed by
recipient, so one outbound id always lives in one partition).

Why this shape:
- The consumer group gives each outbound partition one owner at a time, and the
  owner of outbound partition p is the only writer of ledger partition p. On
  assignment the new owner reads ledger partition p to its end before it handles a
  record, and every state is written synchronously (acks=all) before the offset is
  committed or the next record is handled. So after a rebalance the new owner knows
  everything the old one sent: nothing is resent. ``sent`` is written just before the
  dot that ends the SMTP DATA (services.mailer.smtp), so a SIGKILL after the server
  took the mail cannot lead to a repeat.
- The retry queue is the ``queued`` states, with their next attempt time. The new
  owner of a dead instance's partition gets its queued mail with the partition and
  retries it when it was due (or at take-over, if that is later): within one retry
  interval, since the group moves partitions within the session timeout, shorter
  than the first retry delay.
- One record per outbound id holds both "sent" and "queued", so the two can never
  disagree after a crash, and no separate retry topics (one per backoff tier, each
  with a paused consumer) are needed: the backoff lives in the record.
- ``cleanup.policy=compact,delete`` with a retention longer than mail.outbound's: an id
  is kept as long as its outbound record can be redelivered, then expires.

A member that lost a partition without knowing it yet (frozen past the session
timeout, cut off while the broker restarted) would break the one-writer rule and send
what the owner sends: so before each send and each ``queued`` write the mailer proves
ownership to the group coordinator (services.mailer.fence, `fence` here), then reads
what others wrote to the partition since it last looked (`refresh`) and checks again.
``sent`` and ``failed`` are facts and are written without the check. The ids of the
owned partitions are held in memory (a few tens of bytes each).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from kernel.config import Settings
from kernel.kafka import reliable_producer
from kernel.topics import create_missing, topic_config_for
from services.mailer.fence import NoFence

log = logging.getLogger(__name__)

QUEUED, SENT, FAILED = "queued", "sent", "failed"


@dataclass(frozen=True)
class Queued:
    """One mail waiting for another attempt."""

    outbound_id: str
    partition: int
    payload: bytes
    attempts: int
    first_at: float
    next_at: float
    error: str


def _headers(entry: Queued) -> list[tuple[str, bytes]]:
    return [
        ("state", QUEUED.encode()),
        ("attempts", str(entry.attempts).encode()),
        ("first_at", repr(entry.first_at).encode()),
        ("next_at", repr(entry.next_at).encode()),
        ("error", entry.error.encode()[:1000]),
    ]


class SentLedger:
    """The states of the outbound partitions this instance owns, read from and written
    through to the ledger topic. Used from the mailer's thread only (metrics read the
    queue length under a lock)."""

    def __init__(self, settings: Settings, producer: KafkaProducer | None = None) -> None:
        self.settings = settings
        self.topic = settings.topics.sent
        self._producer = producer
        self._reader: KafkaConsumer | None = None
        self._settled: dict[int, set[str]] = {}  # partition -> sent or failed ids
        self._next: dict[int, int] = {}  # partition -> the next ledger offset to read
        self._queue: dict[str, Queued] = {}
        self._lock = threading.Lock()
        self._ready = False
        # Raises services.mailer.fence.Fenced unless this instance owns the partition.
        self.fence: Callable[[int], None] = NoFence().check

    # ------------------------------------------------------------ ownership
    def ensure_topic(self) -> None:
        """Create the ledger topic, if missing, with mail.outbound's partition count."""
        if self._ready:
            return
        reader = self._consumer()
        outbound = reader.partitions_for_topic(self.settings.topics.outbound)
        partitions = len(outbound) if outbound else self.settings.topic_partitions
        create_missing(
            self.settings.kafka_bootstrap, {self.topic: topic_config_for("sent")}, partitions
        )
        sent = reader.partitions_for_topic(self.topic)
        if outbound and sent and len(sent) != len(outbound):
            raise RuntimeError(
                f"{self.topic} has {len(sent)} partitions, {self.settings.topics.outbound}"
                f" {len(outbound)}: the ledger must be co-partitioned with the outbound topic"
            )
        self._ready = True

    @property
    def partitions(self) -> set[int]:
        return set(self._settled)

    def take(self, partitions: Iterable[int]) -> None:
        """Load the states of newly owned partitions (read to the end of each)."""
        new = sorted(set(partitions) - set(self._settled))
        if not new:
            return
        self.ensure_topic()
        reader = self._consumer()
        tps = [TopicPartition(self.topic, p) for p in new]
        reader.assign(tps)
        reader.seek_to_beginning(*tps)
        ends = reader.end_offsets(tps)
        settled: dict[int, set[str]] = {p: set() for p in new}
        queue: dict[str, Queued] = {}
        while any(reader.position(tp) < ends[tp] for tp in tps):
            for tp, records in reader.poll(timeout_ms=1000).items():
                for r in records:
                    self._apply(tp.partition, r.key.decode(), r.value, dict(r.headers or []),
                                settled, queue)  # fmt: skip
        with self._lock:
            self._settled.update(settled)
            self._queue.update(queue)
            self._next.update({tp.partition: ends[tp] for tp in tps})
        log.info(
            "ledger: took partitions %s (%d settled, %d queued); own %s",
            new, sum(len(s) for s in settled.values()), len(queue), sorted(self._settled),
        )  # fmt: skip

    @staticmethod
    def _apply(
        partition: int, key: str, value: bytes | None, headers: dict[str, bytes],
        settled: dict[int, set[str]], queue: dict[str, Queued],
    ) -> None:  # fmt: skip
        state = headers.get("state", b"").decode()
        if value is None or state not in (QUEUED, SENT, FAILED):
            settled[partition].discard(key)
            queue.pop(key, None)
        elif state == QUEUED:
            settled[partition].discard(key)
            queue[key] = Queued(
                key, partition, value, int(headers["attempts"]), float(headers["first_at"]),
                float(headers["next_at"]), headers.get("error", b"").decode(errors="replace"),
            )  # fmt: skip
        else:
            settled[partition].add(key)
            queue.pop(key, None)

    def release(self, partitions: Iterable[int]) -> None:
        """Forget partitions another instance now owns (their states stay in the topic)."""
        gone = set(partitions) & set(self._settled)
        if not gone:
            return
        with self._lock:
            for p in gone:
                del self._settled[p]
                self._next.pop(p, None)
            self._queue = {k: q for k, q in self._queue.items() if q.partition not in gone}
        log.info("ledger: released partitions %s; own %s", sorted(gone), sorted(self._settled))

    def refresh(self, partition: int) -> None:
        """Read what others wrote to an owned partition since this instance last looked
        (a member that lost and regained it without noticing)."""
        self.take([partition])
        tp = TopicPartition(self.topic, partition)
        reader = self._consumer()
        end = reader.end_offsets([tp])[tp]
        if end <= self._next[partition]:
            return
        reader.assign([tp])
        reader.seek(tp, self._next[partition])
        seen = 0
        while reader.position(tp) < end:
            for r in reader.poll(timeout_ms=1000).get(tp, []):
                with self._lock:
                    self._apply(partition, r.key.decode(), r.value, dict(r.headers or []),
                                self._settled, self._queue)  # fmt: skip
                seen += 1
        self._next[partition] = max(self._next[partition], reader.position(tp))
        log.info("ledger: partition %d: %d states written since this instance looked",
                 partition, seen)  # fmt: skip

    def refresh_owned(self) -> None:
        """Pick up states another instance wrote to an owned partition (a stale owner that
        wrote a mail back after the server refused it at the dot): one offsets request."""
        if not self._next:
            return
        tps = {TopicPartition(self.topic, p): p for p in self._next}
        try:
            ends = self._consumer().end_offsets(list(tps))
            for tp, end in ends.items():
                if end > self._next.get(tps[tp], end):
                    self.refresh(tps[tp])
        except KafkaError as exc:  # the broker away: the next round looks again
            log.info("ledger: owned partitions not re-read (%s)", exc)

    def claim(self, partition: int) -> None:
        """Before a send: this instance owns the partition (else Fenced) and knows every
        state written to it."""
        self.fence(partition)
        self.refresh(partition)

    # --------------------------------------------------------------- states
    def seen(self, outbound_id: str, partition: int) -> bool:
        """Sent, or refused for good: a redelivery changes nothing."""
        self.take([partition])
        return outbound_id in self._settled[partition]

    def queued(self, outbound_id: str) -> bool:
        return outbound_id in self._queue

    def entry(self, outbound_id: str) -> Queued | None:
        with self._lock:
            return self._queue.get(outbound_id)

    def record(self, outbound_id: str, partition: int) -> Queued | None:
        """Sent; written just before the SMTP dot. Returns the queue entry it ends, for
        `unrecord`."""
        entry = self.entry(outbound_id)
        self._settle(outbound_id, partition, SENT)
        return entry

    def unrecord(self, outbound_id: str, partition: int, entry: Queued | None, payload: bytes,
                 now: float) -> None:  # fmt: skip
        """The server did not take the mail after its "sent" was written: back to the queue,
        due now (the caller then writes its schedule, or drops it). Not guarded: if the
        partition moved meanwhile, its new owner skipped the mail as sent, and finds it
        queued again at its next `refresh_owned`."""
        back = entry or Queued(outbound_id, partition, payload, 0, now, now, "not taken")
        back = replace(back, next_at=min(back.next_at, now))
        self._write(outbound_id, partition, back.payload, _headers(back))
        with self._lock:
            self._settled[partition].discard(outbound_id)
            if entry is not None:
                self._queue[outbound_id] = entry

    def drop(self, outbound_id: str, partition: int) -> None:
        """Refused for good or given up: out of the queue, and never tried again."""
        self._settle(outbound_id, partition, FAILED)

    def _settle(self, outbound_id: str, partition: int, state: str) -> None:
        self.take([partition])
        self._write(outbound_id, partition, b"", [("state", state.encode())])
        with self._lock:
            self._settled[partition].add(outbound_id)
            self._queue.pop(outbound_id, None)

    def enqueue(
        self, outbound_id: str, partition: int, payload: bytes, now: float, next_at: float,
        error: str,
    ) -> None:  # fmt: skip
        self.take([partition])
        if outbound_id in self._queue:
            return
        self._put(Queued(outbound_id, partition, payload, 1, now, next_at, error))

    def reschedule(self, outbound_id: str, attempts: int, next_at: float, error: str) -> None:
        entry = self._queue[outbound_id]
        self._put(replace(entry, attempts=attempts, next_at=next_at, error=error))

    def _put(self, entry: Queued) -> None:
        """Only the partition's owner may queue: a stale ``queued`` after the owner's
        ``sent`` would have the next owner send it again."""
        self._write(entry.outbound_id, entry.partition, entry.payload, _headers(entry),
                    guarded=True)  # fmt: skip
        with self._lock:
            self._queue[entry.outbound_id] = entry

    def due(self, now: float, limit: int = 50) -> list[Queued]:
        """Queued mail due by ``now``, oldest due first."""
        with self._lock:
            ready = [q for q in self._queue.values() if q.next_at <= now]
        return sorted(ready, key=lambda q: q.next_at)[:limit]

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue)

    # ----------------------------------------------------------------- kafka
    def _write(
        self, outbound_id: str, partition: int, value: bytes | None,
        headers: list[tuple[str, bytes]],
        guarded: bool = False,
    ) -> None:  # fmt: skip
        """Durable before it returns; while the broker is away, wait rather than forget
        that a mail went (forgetting it would send it again). ``guarded``: ownership is
        checked before every attempt (Fenced propagates)."""
        delay = 0.5
        while True:
            if guarded:
                self.fence(partition)
            try:
                if self._producer is None:
                    self._producer = reliable_producer(self.settings, linger_ms=0)
                meta = self._producer.send(
                    self.topic, key=outbound_id.encode(), value=value, headers=headers,
                    partition=partition,
                ).get(timeout=30)  # fmt: skip
                with self._lock:  # the next read starts after it, unless another wrote first
                    if self._next.get(partition) == meta.offset:
                        self._next[partition] = meta.offset + 1
                return
            except KafkaError as exc:
                log.warning("ledger write for %s failed (%s); retrying", outbound_id, exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _consumer(self) -> KafkaConsumer:
        if self._reader is None:
            self._reader = KafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap, enable_auto_commit=False,
                group_id=None, auto_offset_reset="earliest",
            )  # fmt: skip
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._producer is not None:
            self._producer.close(timeout=5)
