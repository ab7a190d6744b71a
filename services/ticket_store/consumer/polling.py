"""What both store consumers do with the broker: poll until told to stop, commit past a batch.

The mail consumer (loop.py) and the operations consumer (operations.py) differ in
what they apply and how they wait out an outage, not in this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from kernel.kafka import poll_or_wait

Batches = dict[TopicPartition, list]


def polled(
    consumer: KafkaConsumer,
    stopping: threading.Event,
    before: Callable[[], object] | None = None,
) -> Iterator[tuple[Batches, list]]:
    """Each non-empty poll until `stopping`, with its records in one list; `before` is
    called ahead of every poll (the operations consumer waits out a burst there)."""
    while not stopping.is_set():
        if before is not None:
            before()
        batches = poll_or_wait(consumer, stopping)
        if batches:
            yield batches, [r for recs in batches.values() for r in recs]


def next_offsets(batches: Batches) -> dict[TopicPartition, OffsetAndMetadata]:
    """The offsets to commit once the batch is applied: past each partition's last record."""
    return {tp: OffsetAndMetadata(recs[-1].offset + 1, "", -1) for tp, recs in batches.items()}
