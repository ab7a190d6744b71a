"""The skipped-records watchdog leaves alone a record still on its way to an idle agent.

faust's aiokafka consumer moves a partition's position when it hands a fetched batch
over; the agent takes it a moment later (take_events yields at its next tick). A
watchdog round falling in between saw "fetched past what the agent handled" and sought
back: the agent then handled the record twice (the replay test's ledger record gave two
identical notices on mail.outbound). Only a gap that stands still is a skipped record.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from services.router import monitor
from services.router.monitor import IDLE_BEFORE_RESEEK_S, STUCK_BEFORE_RESEEK_S, Watch

LEDGER = TP("router-x-ledger", 1)


class FakeConsumer:
    """What `skipped_records` reads of faust's consumer: assignment, positions, seek."""

    def __init__(self, position: int) -> None:
        self.state = SimpleNamespace(position=position)
        assignment = SimpleNamespace(state_value=lambda tp: self.state)
        inner = SimpleNamespace(
            _subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))
        )
        self._thread = SimpleNamespace(_consumer=inner)
        self._committed_offset: dict[Any, int] = {}
        self.seeks: list[tuple[TP, int]] = []

    def assignment(self) -> set[TP]:
        return {LEDGER}

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.state.position = offset


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The broker probe, answering "a record lies there" (as for the ledger's records)."""
    asked: list[tuple[int, int]] = []

    async def has_records(bootstrap: str, tp: Any, start: int, end: int) -> bool:
        asked.append((start, end))
        return True

    monkeypatch.setattr(monitor, "has_records", has_records)
    return asked


def app_with(consumer: FakeConsumer) -> Any:
    return SimpleNamespace(
        consumer=consumer, rebalancing=False,
        flow_control=SimpleNamespace(is_active=lambda: True),
    )  # fmt: skip


def settled_offset_0(watch: Watch) -> None:
    """The settle agent handled offset 0, then idled past the watchdog's patience."""
    watch.begin("settle")
    watch.finish("settle", SimpleNamespace(message=SimpleNamespace(tp=LEDGER, offset=0)))
    watch.idle_since["settle"] = time.monotonic() - IDLE_BEFORE_RESEEK_S - 5


def round_(app: Any, watch: Watch) -> None:
    asyncio.run(monitor.skipped_records(app, "unused:9092", {LEDGER.topic: "settle"}, watch))


def test_record_fetched_a_moment_ago_is_not_sought_back(probe: list) -> None:
    """Offset 1 was just fetched (position 2) and the idle agent takes it right after."""
    watch, consumer = Watch(), FakeConsumer(position=2)
    app = app_with(consumer)
    settled_offset_0(watch)
    round_(app, watch)  # the round falls between the fetch and the agent taking it
    assert consumer.seeks == []
    watch.begin("settle")
    watch.finish("settle", SimpleNamespace(message=SimpleNamespace(tp=LEDGER, offset=1)))
    watch.idle_since["settle"] = time.monotonic() - IDLE_BEFORE_RESEEK_S - 5
    round_(app, watch)
    assert consumer.seeks == []  # handled once, never read again


def test_record_still_unhandled_later_is_sought_back(
    probe: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same gap, standing still past STUCK_BEFORE_RESEEK_S: a skipped record."""
    watch, consumer = Watch(), FakeConsumer(position=2)
    app = app_with(consumer)
    settled_offset_0(watch)
    clock = [time.monotonic()]
    monkeypatch.setattr(monitor, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    round_(app, watch)
    clock[0] += STUCK_BEFORE_RESEEK_S / 2
    round_(app, watch)
    assert consumer.seeks == []  # not yet: it may still be on its way
    clock[0] += STUCK_BEFORE_RESEEK_S
    round_(app, watch)
    assert consumer.seeks == [(LEDGER, 1)]
    assert probe == [(1, 2)]  # the broker was asked once, at the seek
    round_(app, watch)  # sought back: position 1, nothing ahead any more
    assert consumer.seeks == [(LEDGER, 1)]
