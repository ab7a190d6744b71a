#!/usr/bin/env python3
"""Print the life of every ticket from Supportdesk's tickets.events.

A runnable example of a downstream consumer; docs/consuming-events.md explains
each choice. It needs kafka-python and the standard library only: a consumer
codes against the contract (/asyncapi.json), not against Supportdesk's code.

    python examples/ticket_lifecycles.py --bootstrap 127.0.0.1:9092
    python examples/ticket_lifecycles.py --group my-report --idle-exit 5

One line per event as it arrives, then (on Ctrl-C, or after --idle-exit seconds
without records) one summary line per ticket.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from kafka import KafkaConsumer

# The schema_version this consumer was written against. A higher one means a field
# changed meaning: this consumer still prints what it knows, and says so.
KNOWN_SCHEMA_VERSION = 1

Event = dict[str, Any]


def _opened(e: Event) -> str:
    return (
        f"ticket #{e['number']} opened: {e['subject']!r} "
        f"(client {e['client_id']}, department {e['department_id']})"
    )


def _message(e: Event) -> str:
    kind = {"in": "from the client", "out": "reply to the client", "note": "internal note"}
    return f"message {e['message_id']}: {kind.get(e['direction'], e['direction'])}"


def _delivery(e: Event) -> str:
    detail = f" ({e['detail']})" if e.get("detail") else ""
    return f"reply {e['message_id']} {e['status']}{detail}"


DESCRIBE: dict[str, Callable[[Event], str]] = {
    "ticket_opened": _opened,
    "message_added": _message,
    "status_changed": lambda e: f"status {e['old_status']} -> {e['new_status']}",
    "assigned": lambda e: f"assigned to staff {e['staff_id']}",
    "incoming_converted": lambda e: (
        f"made from incoming email {e['incoming_email_id']} "
        f"({'new' if e['new_client'] else 'existing'} client {e['client_id']})"
    ),
    "incoming_attached": lambda e: (
        f"incoming email {e['incoming_email_id']} added as message {e['message_id']}"
    ),
    "incoming_discarded": lambda e: f"incoming email {e['incoming_email_id']} {e['status']}",
    "delivery_result": _delivery,
}


@dataclass
class Lifecycle:
    """What this consumer remembers of one record key (a ticket)."""

    last_sequence: int = 0
    steps: list[str] = field(default_factory=list)
    status: str = ""
    gaps: list[tuple[int, int]] = field(default_factory=list)


class LifecyclePrinter:
    """Applies events in order, once each: the per-ticket sequence tells a repeat
    (at or below the last one seen) from a gap (more than one above it)."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.tickets: dict[str, Lifecycle] = {}

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def handle(self, key: str, value: bytes | None) -> None:
        if value is None:
            return  # tickets.events has no tombstones; tolerate one anyway
        event: Event = json.loads(value)
        life = self.tickets.setdefault(key, Lifecycle())
        seq = int(event.get("sequence", 0))
        if seq and seq <= life.last_sequence:
            self.say(f"{key} #{seq} repeat of an event already seen, skipped")
            return
        if seq and life.last_sequence and seq > life.last_sequence + 1:
            life.gaps.append((life.last_sequence + 1, seq - 1))
            self.say(f"{key} events #{life.last_sequence + 1}..#{seq - 1} missing")
        life.last_sequence = seq or life.last_sequence
        kind = str(event.get("type", "?"))
        describe = DESCRIBE.get(kind)
        if describe is None:  # a type newer than this consumer: skip it, keep going
            self.say(f"{key} #{seq} {kind}: unknown event type, skipped")
            return
        if int(event.get("schema_version", 1)) > KNOWN_SCHEMA_VERSION:
            self.say(f"{key} #{seq} {kind}: schema_version {event['schema_version']} is newer")
        if kind == "ticket_opened":
            life.status = "new"
        elif kind == "status_changed":
            life.status = event["new_status"]
        elif kind == "incoming_discarded":
            life.status = event["status"]
        life.steps.append(kind)
        actor = event.get("actor") or "-"
        cause = event.get("cause") or "-"
        self.say(
            f"{key} #{seq} {event.get('at', '')} {kind} by {actor} [{cause}]: {describe(event)}"
        )

    def summary(self) -> None:
        self.say(f"--- {len(self.tickets)} lifecycles")
        for key, life in self.tickets.items():
            gaps = f", gaps {life.gaps}" if life.gaps else ""
            self.say(
                f"{key}: {len(life.steps)} events up to #{life.last_sequence}, "
                f"status {life.status or '?'}{gaps}: {' > '.join(life.steps)}"
            )


def run(args: argparse.Namespace, printer: LifecyclePrinter) -> None:
    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        # A new group starts at the oldest record kept; a known group where it stopped.
        auto_offset_reset="earliest",
        # Offsets are committed after the records are handled: at least once.
        enable_auto_commit=False,
        key_deserializer=lambda k: k.decode() if k is not None else "",
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    idle_since: float | None = None  # counted once partitions are assigned
    try:
        while not stopping:
            batch = consumer.poll(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    printer.handle(record.key, record.value)
            if batch:
                consumer.commit()
                idle_since = time.monotonic()
            elif consumer.assignment() and idle_since is None:
                idle_since = time.monotonic()
            if args.idle_exit and idle_since and time.monotonic() - idle_since > args.idle_exit:
                break
    finally:
        consumer.close()
    printer.summary()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--topic", default="tickets.events")
    parser.add_argument("--group", default="ticket-lifecycles", help="your consumer group")
    parser.add_argument(
        "--idle-exit", type=float, default=0, help="stop after this many seconds without records"
    )
    run(parser.parse_args(argv), LifecyclePrinter())


if __name__ == "__main__":
    main()
