"""tickets.events after a run with faults, read once to its end and held against the database.

The outbox relay publishes at least once (a row is marked published only after the
broker's ack), so a broker fault may repeat records but must lose none: every ticket
in the database has its events on the topic, sequence 1 (ticket_opened) to the
ticket's last, and a repeat is the same event (same `event_id`, same bytes), never
a second event claiming a (ticket, sequence) another one holds. Used by the chaos
checks and the 3-node cluster test.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.codec import loads_ticket_event
from schemas.ticket_events import TicketEventBase


class TopicRecord(NamedTuple):
    partition: int
    offset: int
    key: str | None
    value: bytes | None


@dataclass
class EventsVerdict:
    records: int = 0
    events: int = 0  # distinct event ids
    repeats: int = 0  # records repeating an event already read (allowed: at least once)
    # a ticket's event first seen after a later one of the same ticket (reported only)
    out_of_order: int = 0
    # ticket id -> sequence -> event type, from the first record of each event
    types: dict[str, dict[int, str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"tickets.events: {self.records} records, {self.events} events, "
            f"{self.repeats} repeats of an event id, {self.out_of_order} out of order"
        )


def check_ticket_events(
    tickets: Mapping[str, int], records: Iterable[TopicRecord]
) -> EventsVerdict:
    """`tickets`: every ticket id in the database -> its event_sequence (how many events
    the store numbered for it). Every failure as one line in the verdict."""
    v = EventsVerdict()
    first: dict[str, tuple[bytes | None, str, int]] = {}  # event id -> (value, key, sequence)
    holder: dict[tuple[str, int], str] = {}  # (key, sequence) -> event id
    highest: dict[str, int] = {}  # key -> highest sequence first seen so far
    undecodable: list[str] = []
    wrong_key: list[str] = []
    reused: list[str] = []
    claimed: list[str] = []
    ordered = sorted(records, key=lambda r: (r.partition, r.offset))
    for r in ordered:
        v.records += 1
        try:
            event = loads_ticket_event(r.value or b"")
        except ValidationError:
            undecodable.append(f"{r.partition}@{r.offset}")
            continue
        key = r.key or ""
        if isinstance(event, TicketEventBase) and event.ticket_id != key:
            wrong_key.append(f"{event.event_id} keyed {key!r}")
        if event.event_id in first:
            v.repeats += 1
            if first[event.event_id] != (r.value, key, event.sequence):
                reused.append(event.event_id)
            continue
        first[event.event_id] = (r.value, key, event.sequence)
        other = holder.setdefault((key, event.sequence), event.event_id)
        if other != event.event_id:
            claimed.append(f"{key} #{event.sequence}: {other} and {event.event_id}")
            continue
        v.types.setdefault(key, {})[event.sequence] = event.type
        if event.sequence < highest.get(key, 0):
            v.out_of_order += 1
        highest[key] = max(highest.get(key, 0), event.sequence)
    v.events = len(first)
    _fail(v, "undecodable records", undecodable)
    _fail(v, "records keyed other than their ticket", wrong_key)
    _fail(v, "event ids on two different events", reused)
    _fail(v, "two event ids for one (ticket, sequence)", claimed)
    no_opened = [t for t in tickets if v.types.get(t, {}).get(1) != "ticket_opened"]
    _fail(v, "tickets without their ticket_opened (sequence 1) on the topic", no_opened)
    lost = [
        f"{t} #{n}"
        for t, last in tickets.items()
        for n in range(2, last + 1)
        if n not in v.types.get(t, {})
    ]
    _fail(v, "ticket events lost (a sequence the store numbered, not on the topic)", lost)
    beyond = [f"{t} #{n}" for t, seqs in v.types.items() if t in tickets
              for n in seqs if n > tickets[t]]  # fmt: skip
    _fail(v, "events past the ticket's last sequence", beyond)
    strangers = [t for t in v.types if t not in tickets and not t.startswith("incoming:")]
    _fail(v, "events of tickets not in the database", strangers)
    return v


def _fail(v: EventsVerdict, what: str, items: list[str]) -> None:
    if items:
        v.failures.append(f"{what}: {len(items)}, e.g. {items[:3]}")


def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[TopicRecord]:
    """Every record on `topic`, from the beginning to the end offsets read at the start.

    A plain (read_uncommitted) consumer: the relay's producer is idempotent but not
    transactional, so every record it wrote counts as soon as it is on the log.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024,
    )  # fmt: skip
    deadline = time.monotonic() + timeout_s
    try:
        numbers = consumer.partitions_for_topic(topic)
        while not numbers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partitions of {topic} in {timeout_s:.0f}s")
            time.sleep(0.5)
            numbers = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(numbers)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[TopicRecord] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end in {timeout_s:.0f}s")
            for tp, batch in consumer.poll(timeout_ms=500, max_records=10_000).items():
                out.extend(
                    TopicRecord(tp.partition, r.offset, r.key.decode() if r.key else None, r.value)
                    for r in batch
                    if r.offset < end[tp]
                )
        return out
    finally:
        consumer.close()
