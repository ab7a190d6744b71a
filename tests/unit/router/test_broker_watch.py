"""BrokerWatch: "waiting for broker" while the running worker has no connection, one log
line each way, aiokafka's per-attempt errors kept out of the log meanwhile."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest

from kernel import health
from services.router import broker_watch
from services.router.broker_watch import BrokerWatch, consumer_connected


class Conn:
    def __init__(self, up: bool) -> None:
        self.up = up

    def connected(self) -> bool:
        return self.up


def app_with(conns: dict | None) -> SimpleNamespace:
    if conns is None:
        return SimpleNamespace(consumer=SimpleNamespace())
    client = SimpleNamespace(_conns=conns)
    inner = SimpleNamespace(_client=client)
    return SimpleNamespace(consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=inner)))


def test_connected_reads_the_worker_consumers_connections() -> None:
    assert consumer_connected(app_with(None)) is None
    assert consumer_connected(app_with({1: Conn(False), 2: Conn(True)})) is True
    assert consumer_connected(app_with({1: Conn(False)})) is False
    assert consumer_connected(app_with({})) is False


def test_waits_after_the_connections_stay_down_and_says_when_they_are_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    conns = {1: Conn(True)}
    watch = BrokerWatch(app_with(conns), "127.0.0.1:9")
    try:
        caplog.set_level(logging.INFO)
        watch.check(now=100.0)
        assert watch.down_since is None and not watch.waiting
        conns[1].up = False
        watch.check(now=101.0)  # a reconnect takes less than LOST_AFTER_S: not yet waiting
        assert not watch.waiting
        assert not watch.filter(logging.makeLogRecord({"levelno": logging.ERROR}))
        watch.check(now=101.0 + broker_watch.LOST_AFTER_S)
        assert watch.waiting
        deadline = time.monotonic() + 5
        while health.state() != "waiting for broker" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert health.state() == "waiting for broker"
        conns[1].up = True
        assert watch.waiter is not None
        watch.waiter.join(5)
        assert not watch.waiting
        watch.check(now=120.0)
        assert watch.down_since is None
        assert health.state() != "waiting for broker"
        assert watch.filter(logging.makeLogRecord({"levelno": logging.ERROR}))
        lines = [r.getMessage() for r in caplog.records if r.name == "kernel.health"]
        assert len(lines) == 2, lines
        assert lines[0].startswith("waiting for broker at 127.0.0.1:9")
        assert "is back after" in lines[1]
    finally:
        for name in broker_watch.QUIETED:
            logging.getLogger(name).removeFilter(watch)
