"""The session broker really works: acks=all round trip, topic policies, big records.

Why: every service relies on these properties (durable produce before marking
mail read, compacted directories, ~1 MB records below the claim-check limit).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from kernel.config import Settings
from kernel.topics import LONG_RETENTION_MS, ensure_topics

pytestmark = pytest.mark.integration

KAFKA_DEFAULT_MESSAGE_MAX_BYTES = 1048588


@pytest.fixture
def admin(kafka_bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="test-broker")
    yield client
    client.close()


@pytest.fixture
def scratch_topic(kafka_bootstrap: str, kafka_topic_prefix: str) -> str:
    """A fresh one-partition topic, so no other test's records get in the way."""
    name = f"{kafka_topic_prefix}roundtrip"
    assert ensure_topics(kafka_bootstrap, partitions=1, extra={name: {}}) == [name]
    return name


def _producer(bootstrap: str) -> KafkaProducer:
    """The producer settings the fetcher relies on: acked by all ISR, no duplicates."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        client_id="test-broker-producer",
    )


def _read_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    """Read a one-partition topic from the start without a group (no rebalance wait)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records: list = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def test_produce_with_acks_all_then_consume_in_a_group(
    kafka_bootstrap: str, scratch_topic: str, kafka_unique_id: str
) -> None:
    producer = _producer(kafka_bootstrap)
    try:
        metadata = producer.send(scratch_topic, key=b"gw-1", value=b"hello").get(timeout=30)
    finally:
        producer.close()
    assert metadata.topic == scratch_topic
    assert metadata.offset == 0

    # A consumer group exercises the group coordinator and __consumer_offsets.
    group = f"test-group-{kafka_unique_id}"
    consumer = KafkaConsumer(
        scratch_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        records: list = []
        deadline = time.monotonic() + 60
        while not records and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        assert [(r.key, r.value) for r in records] == [(b"gw-1", b"hello")]
        consumer.commit()
        committed = consumer.committed(TopicPartition(scratch_topic, 0))
        assert committed == 1
    finally:
        consumer.close()


def test_ensure_topics_is_idempotent_and_directories_are_compacted(
    kafka_bootstrap: str, admin: KafkaAdminClient
) -> None:
    settings = Settings()
    # The fixture already ran it: a second (and third) call creates nothing.
    assert ensure_topics(kafka_bootstrap) == []
    assert ensure_topics(kafka_bootstrap, settings) == []

    names = list(settings.topics.model_dump().values())
    assert set(names) <= set(admin.list_topics())

    topics = settings.topics
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name)
        for name in (
            topics.clients,
            topics.gateways,
            topics.departments,
            topics.fetcher_state,
            topics.raw,
            topics.outcomes,
        )
    ]
    configs = admin.describe_configs(resources, config_filter="all")["topic"]
    for name in (topics.clients, topics.gateways, topics.departments, topics.fetcher_state):
        assert configs[name]["cleanup.policy"]["value"] == "compact", name
    for name in (topics.raw, topics.outcomes):
        assert configs[name]["cleanup.policy"]["value"] == "delete", name
        assert int(configs[name]["retention.ms"]["value"]) == LONG_RETENTION_MS, name

    if not os.environ.get("SUPPORTDESK_KAFKA_BOOTSTRAP"):  # our own broker: our partitions
        described = admin.describe_topics([topics.raw])
        assert len(described[0]["partitions"]) == settings.topic_partitions


def test_900_kb_record_passes_with_default_limits(
    kafka_bootstrap: str, scratch_topic: str, admin: KafkaAdminClient
) -> None:
    # The broker limit is not raised (claim check for big mail), and 900 KB fits under it.
    broker_id = admin.describe_cluster()["brokers"][0]["broker_id"]
    broker_cfg = admin.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, str(broker_id))], config_filter="all"
    )["broker"][str(broker_id)]
    assert int(broker_cfg["message.max.bytes"]["value"]) == KAFKA_DEFAULT_MESSAGE_MAX_BYTES

    payload = os.urandom(900 * 1024)  # incompressible: the full size reaches the broker
    producer = _producer(kafka_bootstrap)
    try:
        producer.send(scratch_topic, key=b"big", value=payload).get(timeout=30)
    finally:
        producer.close()

    records = _read_all(kafka_bootstrap, scratch_topic, expected=1)
    assert len(records) == 1
    assert records[0].value == payload
