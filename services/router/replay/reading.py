"""What a replay reads, and only reads: mail.raw by selection, the recorded outcomes, the
directory as it is now, and the router's ledger tables (their changelog topics).

Every reader is a group-less kafka-python consumer (no offsets committed, nothing
produced), reading each partition up to the end offset it had when the read began.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from kernel.config import Settings
from schemas.events import GatewayEntry, Outcome
from services.router.directory import InMemoryDirectory

Handler = Callable[[Any], None]  # called with each ConsumerRecord


def _consumer(bootstrap: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        # Records of aborted fetcher transactions are published again under the same id.
        isolation_level="read_committed",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        max_poll_records=2000,
    )


def read_topic(
    bootstrap: str,
    topic: str,
    handle: Handler,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    timeout_s: float = 600.0,
) -> int:
    """Call `handle` for every record of `topic` (within [since, until) by record
    timestamp, when given), partition by partition in offset order; returns how many.
    A missing topic reads as empty."""
    consumer = _consumer(bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return 0
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        if since is not None:
            found = consumer.offsets_for_times({tp: _ms(since) for tp in tps})
            starts = {tp: (found[tp].offset if found[tp] else ends[tp]) for tp in tps}
        if until is not None:
            found = consumer.offsets_for_times({tp: _ms(until) for tp in tps})
            ends = {tp: min(ends[tp], found[tp].offset) if found[tp] else ends[tp] for tp in tps}
        todo = {tp for tp in tps if starts[tp] < ends[tp]}
        for tp in tps:
            consumer.seek(tp, starts[tp])
        consumer.pause(*(set(tps) - todo))
        count = 0
        deadline = time.monotonic() + timeout_s
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end within {timeout_s:.0f}s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    handle(record)
                    count += 1
            for tp in list(todo):
                if consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
                    consumer.pause(tp)
        return count
    finally:
        consumer.close()


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def read_directory(settings: Settings) -> InMemoryDirectory:
    """Clients, departments and tickets as the router sees them now."""
    directory = InMemoryDirectory()
    topics = settings.topics
    for topic, apply in (
        (topics.clients, directory.apply_client),
        (topics.departments, directory.apply_department),
        (topics.ticket_events, directory.apply_ticket_event),
        (topics.gateways, directory.apply_gateway),
    ):
        read_topic(settings.kafka_bootstrap, topic, lambda r, a=apply: a(r.key, r.value))
    return directory


def read_gateways(settings: Settings) -> dict[str, GatewayEntry]:
    """The gateways as configured now (directory.gateways; deleted ones are absent)."""
    gateways: dict[str, GatewayEntry] = {}

    def handle(record: Any) -> None:
        key = (record.key or b"").decode("utf-8", "replace")
        if record.value is None:
            gateways.pop(key, None)
            return
        try:
            entry = GatewayEntry.model_validate_json(record.value)
        except ValueError:
            return
        gateways[entry.gateway_id] = entry

    read_topic(settings.kafka_bootstrap, settings.topics.gateways, handle)
    return gateways


def read_outcomes(settings: Settings) -> dict[str, Outcome]:
    """The recorded outcome of every email on mail.outcomes (the latest one wins, so an
    applied replay's outcome replaces the first, as in the store)."""
    outcomes: dict[str, Outcome] = {}

    def handle(record: Any) -> None:
        try:
            outcome = Outcome.model_validate_json(record.value or b"")
        except ValueError:
            return
        outcomes[outcome.email_id] = outcome

    read_topic(settings.kafka_bootstrap, settings.topics.outcomes, handle)
    return outcomes


@dataclass
class LedgerState:
    """The router's ledger tables as plain dicts (copies: a dry run may change them)."""

    balances: dict[str, Any]
    grants: dict[str, Any]
    charges: dict[str, Any]
    notices: dict[str, Any]


def read_ledger(settings: Settings) -> LedgerState:
    """The ledger tables from their changelogs (faust writes keys and values as JSON)."""
    tables: dict[str, dict[str, Any]] = {}
    for name in ("balances", "grants", "charges", "notices"):
        table: dict[str, Any] = {}

        def handle(record: Any, table: dict[str, Any] = table) -> None:
            try:
                key = json.loads(record.key)
            except (TypeError, ValueError):
                return
            if record.value is None:
                table.pop(key, None)
            else:
                table[key] = json.loads(record.value)

        topic = f"{settings.router_app_id}-{name}-changelog"
        read_topic(settings.kafka_bootstrap, topic, handle)
        tables[name] = table
    return LedgerState(**tables)
