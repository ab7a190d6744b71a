"""When each stage of an end-to-end run started and finished, from the records themselves.

The throughput figure alone cannot say where the wall-clock time went: the
fetcher's start-up, the router, or the store's tail. Kafka record timestamps
(CreateTime, set by the producing process) and the ticket rows' created_at
give each stage's first and last moment, relative to the gateway going live.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import func, select

from services.ticket_store.db import Database
from services.ticket_store.models import Ticket


@dataclass(frozen=True)
class Span:
    first: float  # seconds after the gateway went live
    last: float

    def __str__(self) -> str:
        return f"{self.first:.1f}-{self.last:.1f}s"


def topic_span(bootstrap: str, topic: str, t0: float) -> Span | None:
    """First and last record timestamp on every partition of `topic`."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=2000,
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024,
    )  # fmt: skip
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        left = {tp: n for tp, n in end.items() if n}
        lo = hi = None
        while left:
            batch = consumer.poll(timeout_ms=2000, max_records=10_000)
            if not batch:
                break
            for tp, records in batch.items():
                for r in records:
                    ts = r.timestamp / 1000
                    lo = ts if lo is None else min(lo, ts)
                    hi = ts if hi is None else max(hi, ts)
                if records and records[-1].offset + 1 >= end[tp]:
                    left.pop(tp, None)
    finally:
        consumer.close()
    return None if lo is None or hi is None else Span(lo - t0, hi - t0)


def ticket_span(db: Database, t0: float) -> Span | None:
    with db.transaction() as s:
        lo, hi = s.execute(select(func.min(Ticket.created_at), func.max(Ticket.created_at))).one()
    if lo is None or hi is None:
        return None
    return Span(_epoch(lo) - t0, _epoch(hi) - t0)


def _epoch(moment: object) -> float:
    from datetime import UTC, datetime

    assert isinstance(moment, datetime)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def describe(bootstrap: str, raw: str, outcomes: str, db: Database, t0: float) -> str:
    """'mail.raw 0.8-3.1s, outcomes 1.0-7.2s, tickets 1.1-7.5s' for one run."""
    parts = [
        f"mail.raw {topic_span(bootstrap, raw, t0)}",
        f"outcomes {topic_span(bootstrap, outcomes, t0)}",
        f"tickets {ticket_span(db, t0)}",
    ]
    return ", ".join(parts)
