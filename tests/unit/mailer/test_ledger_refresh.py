"""The mailer's once-a-second re-read of its ledger partitions waits out a broker outage
instead of ending the mailer (a chaos run's mailer exited on KafkaTimeoutError)."""

from __future__ import annotations

from typing import Any

from kafka.errors import KafkaTimeoutError

from kernel.config import Settings
from services.mailer.ledger import SentLedger


class _Reader:
    def __init__(self, ends: dict[Any, int] | None) -> None:
        self.ends = ends

    def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        if self.ends is None:
            raise KafkaTimeoutError("Failed to get offsets by timestamps in 30000 ms")
        return {tp: self.ends[tp.partition] for tp in tps}


def _ledger(reader: _Reader) -> tuple[SentLedger, list[int]]:
    ledger = SentLedger(Settings())
    ledger._reader = reader  # type: ignore[assignment]  # noqa: SLF001
    ledger._next = {0: 5, 1: 7}  # noqa: SLF001 - two owned partitions, read up to there
    refreshed: list[int] = []
    ledger.refresh = refreshed.append  # type: ignore[method-assign]
    return ledger, refreshed


def test_a_broker_outage_is_waited_out() -> None:
    ledger, refreshed = _ledger(_Reader(None))
    ledger.refresh_owned()  # no exception
    assert refreshed == []


def test_only_partitions_written_since_are_re_read() -> None:
    ledger, refreshed = _ledger(_Reader({0: 5, 1: 9}))
    ledger.refresh_owned()
    assert refreshed == [1]
