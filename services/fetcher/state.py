"""Durable per-gateway fetcher state and health, on the compacted `fetcher.state` topic.

Why a Kafka topic: fetchers move between machines (consumer-group rebalance,
kill -9), so the memory of what was published must live where any fetcher
can read it, and it must change atomically with the publication itself. Each
gateway's state record is written in the same Kafka transaction as the mail
it describes, so "published" and "remembered as published" cannot disagree.

Keys: ``<gateway_id>`` → GatewayState (transactional), ``health:<gateway_id>``
→ GatewayHealth (plain idempotent producer). Compaction keeps one of each.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Literal

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.structs import TopicPartition
from pydantic import BaseModel, ConfigDict, Field

from kernel.config import Settings
from schemas.gateway_health import GatewayHealth as GatewayHealth

log = logging.getLogger(__name__)

HEALTH_PREFIX = "health:"

# Compaction settings: roll segments hourly so the active segment gets compacted too.
STATE_TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.ms": str(3600 * 1000),
    "min.cleanable.dirty.ratio": "0.1",
    "delete.retention.ms": str(24 * 3600 * 1000),
}


# kafka-python 3.0 builds a client's ClusterMetadata without its retry_backoff_ms, so a new
# client waits a fixed 100 ms after its bootstrap metadata before the next refresh, and again
# before the topic's: 0.2 s of every state read and of a gateway's first send. 10 ms still
# spaces out refreshes; a broker that is down is paced by the reconnect backoff instead.
METADATA_BACKOFF_MS = 10


def quick_metadata(client: KafkaConsumer | KafkaProducer) -> None:
    """Shorten a new client's metadata refresh backoff (see METADATA_BACKOFF_MS)."""
    cluster = getattr(client, "_cluster", None) or getattr(client, "_metadata", None)
    config = getattr(cluster, "config", None)
    if isinstance(config, dict) and "retry_backoff_ms" in config:
        config["retry_backoff_ms"] = METADATA_BACKOFF_MS


def _now() -> datetime:
    return datetime.now(UTC)


class GatewayState(BaseModel):
    """What one gateway's fetcher has published and not yet seen disappear.

    IMAP: ``uidvalidity`` + ``high_uid`` (everything up to it was looked at)
    + ``uids`` published but possibly still unseen. POP3: ``uidls`` published
    and still on the server. Maildir: ``names`` published and still in new/.
    The sets are pruned to what the mailbox still holds at each write, so they
    stay as small as the backlog of unmarked mail (POP3 leave-on-server aside).
    """

    model_config = ConfigDict(extra="ignore")

    schema_version: int = 1
    gateway_id: str
    protocol: Literal["imap", "pop3", "maildir"]
    folder: str = ""
    uidvalidity: int | None = None
    high_uid: int | None = None
    uids: list[int] = Field(default_factory=list)
    uidls: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    mails_taken: int = 0
    owner: str = ""
    updated_at: datetime = Field(default_factory=_now)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner puts ``key`` in."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def ensure_state_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create the compacted state topic if missing (brokers do not auto-create here)."""
    settings = Settings()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="supportdesk-fetcher-admin")
    try:
        if topic in set(admin.list_topics()):
            return
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(
                {
                    topic: {
                        "num_partitions": partitions,
                        "replication_factor": settings.topic_replication_factor,
                        "configs": {
                            **STATE_TOPIC_CONFIG,
                            "min.insync.replicas": str(settings.topic_min_insync_replicas),
                        },
                    }
                },  # fmt: skip
                wait_for_metadata=True,
            )
    finally:
        admin.close()


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    key: bytes | None = None,
    committed_only: bool = True,
    timeout_s: float = 30.0,
) -> dict[bytes, bytes | None]:
    """Latest value per key, reading to the end (the last stable offset if committed_only).

    With a key, only the partition that can hold it is read.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed_only else "read_uncommitted",
        client_id="supportdesk-fetcher-state",
    )
    quick_metadata(consumer)
    # The high watermark, not the last stable offset: a committed record of ours may sit
    # behind another gateway's open transaction, so wait for the LSO to pass the HW.
    probe = (
        KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        if committed_only
        else consumer
    )
    quick_metadata(probe)
    try:
        deadline = time.monotonic() + timeout_s
        parts: set[int] | None = None
        while not parts:
            parts = consumer.partitions_for_topic(topic)
            if parts:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic} has no partitions (does it exist?)")
            time.sleep(0.2)
        wanted = sorted(parts)
        if key is not None:
            wanted = [partition_for(key, len(parts))]
        tps = [TopicPartition(topic, p) for p in wanted]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = probe.end_offsets(tps)
        latest: dict[bytes, bytes | None] = {}
        remaining = {tp for tp in tps if end[tp] > 0}
        remaining = {tp for tp in remaining if consumer.position(tp) < end[tp]}
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach its end in {timeout_s}s")
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    if key is None or r.key == key:
                        latest[r.key or b""] = r.value
            for tp in list(remaining):
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return latest
    finally:
        consumer.close()
        if probe is not consumer:
            probe.close()


def load_state(bootstrap: str, topic: str, gateway_id: str) -> GatewayState | None:
    """The committed state of one gateway; None when it was never polled."""
    key = gateway_id.encode()
    value = read_topic(bootstrap, topic, key=key).get(key)
    if value is None:
        return None
    return GatewayState.model_validate_json(value)


def load_health(bootstrap: str, topic: str, timeout_s: float = 10.0) -> dict[str, GatewayHealth]:
    """Health of every gateway that a fetcher reported on."""
    result: dict[str, GatewayHealth] = {}
    for k, v in read_topic(bootstrap, topic, committed_only=False, timeout_s=timeout_s).items():
        name = k.decode(errors="replace")
        if not name.startswith(HEALTH_PREFIX) or v is None:
            continue
        try:
            h = GatewayHealth.model_validate_json(v)
        except ValueError:
            log.warning("unreadable health record %s skipped", name)
            continue
        result[h.gateway_id] = h
    return result


def load_states(bootstrap: str, topic: str, timeout_s: float = 10.0) -> dict[str, GatewayState]:
    """Committed state of every gateway (for `gateway test` and operators)."""
    result: dict[str, GatewayState] = {}
    for k, v in read_topic(bootstrap, topic, timeout_s=timeout_s).items():
        if v is None or k.startswith(HEALTH_PREFIX.encode()):
            continue
        with contextlib.suppress(ValueError):
            s = GatewayState.model_validate_json(v)
            result[s.gateway_id] = s
    return result
