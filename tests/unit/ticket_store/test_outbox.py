"""The outbox relay puts each key where kafka-python (and Kafka's Java client) would: the
relay moved from kafka-python's producer to aiokafka's, and a ticket's events must keep
going to the partition its earlier events went to."""

from __future__ import annotations

import random
import uuid

from kafka.partitioner.default import murmur2

from services.ticket_store import outbox


def test_every_key_goes_to_the_partition_kafka_pythons_producer_chose() -> None:
    rng = random.Random(9)
    keys = [uuid.UUID(int=rng.getrandbits(128)).hex.encode() for _ in range(2000)]
    keys += [b"", b"a", b"client@example.org", "Grüße".encode(), bytes(range(256))]
    for count in (1, 3, 4, 12):
        every = list(range(count))
        for key in keys:
            # kafka.partitioner.default.DefaultPartitioner.partition, given the partitions
            theirs = every[(murmur2(key) & 0x7FFFFFFF) % count]
            assert outbox._partition(key, every, every) == theirs, key


def test_known_murmur2_partitions() -> None:
    """A value from Kafka's Java client: murmur2("21") is -973932308 there."""
    every = list(range(100))
    assert outbox._partition(b"21", every, every) == (-973932308 & 0x7FFFFFFF) % 100
