"""Sending an applied replay to the router, and waiting for what it decided.

Apply = the dry run, then one ReplayCommand per mail whose decision changes (action
"apply"), on the replay topic, keyed by email id; the router decides each again
(see `commands`) and writes its outcome, stamped with the replay id, on mail.outcomes.
Confirmation is reading those outcomes back: only the router's word counts.

Why through the router and not written here: rule 7's ledger (balances, charges,
notice times) lives in the router's tables, partitioned by client, with one writer
per client. Any other writer could charge twice or overdraw.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from kernel.config import Settings
from kernel.kafka import reliable_producer
from schemas.events import Outcome, RawEmail
from schemas.replay import ApplyResult, ReplayCommand


def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        return consumer.end_offsets([TopicPartition(topic, p) for p in parts]) if parts else {}
    finally:
        consumer.close()


def send(
    settings: Settings, replay_id: str, raws: Iterable[RawEmail], requested_by: str
) -> list[str]:
    """One command per raw email; returns the email ids sent (acknowledged by the broker)."""
    producer = reliable_producer(settings, linger_ms=20, max_request_size=4 * 1024 * 1024)
    sent: list[str] = []
    try:
        for raw in raws:
            cmd = ReplayCommand(replay_id=replay_id, raw=raw, requested_by=requested_by)
            producer.send(settings.topics.replay, key=raw.email_id.encode(),
                          value=cmd.model_dump_json().encode())  # fmt: skip
            sent.append(raw.email_id)
        producer.flush(120)
    finally:
        producer.close()
    return sent


def confirm(
    settings: Settings,
    replay_id: str,
    email_ids: Iterable[str],
    since: dict[TopicPartition, int],
    timeout_s: float,
) -> ApplyResult:
    """Read mail.outcomes from `since` until every email id has its outcome of this
    replay, or the timeout; what did not come is listed as unconfirmed."""
    wanted = set(email_ids)
    got: dict[str, Outcome] = {}
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             enable_auto_commit=False)  # fmt: skip
    try:
        parts = consumer.partitions_for_topic(settings.topics.outcomes) or set()
        tps = [TopicPartition(settings.topics.outcomes, p) for p in sorted(parts)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, since.get(tp, 0))
        deadline = time.monotonic() + timeout_s
        while wanted - got.keys() and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    try:
                        outcome = Outcome.model_validate_json(record.value or b"")
                    except ValueError:
                        continue
                    if outcome.replay_id == replay_id and outcome.email_id in wanted:
                        got[outcome.email_id] = outcome
    finally:
        consumer.close()
    return ApplyResult(
        sent=len(wanted),
        confirmed=len(got),
        outcomes=dict(Counter(o.decision.value for o in got.values())),
        unconfirmed=sorted(wanted - got.keys()),
    )
