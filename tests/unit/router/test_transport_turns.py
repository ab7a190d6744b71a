"""Polls take turns among the partitions with buffered records: the ledger's records do
not wait until a big fetch of mail.raw has all been handed out (services.router.transport)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as driver

from services.router.transport import ConsumerThread


class Fetcher:
    """aiokafka's hand-out order: partitions in the order their fetches landed, each
    drained in order up to the poll's limit, a drained partition dropped."""

    def __init__(self, buffered: dict[str, list[int]]) -> None:
        self._records = buffered

    def fetched_records(self, max_records: int) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for tp in list(self._records):
            if max_records == 0:
                break
            taken = self._records[tp][:max_records]
            del self._records[tp][: len(taken)]
            if not self._records[tp]:
                del self._records[tp]
            out[tp] = taken
            max_records -= len(taken)
        return out


class Consumer:
    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher


@pytest.fixture
def faust_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fetch(self: Any, consumer: Consumer, active: Any, **kw: Any) -> dict:
        return consumer._fetcher.fetched_records(kw["max_records"])

    monkeypatch.setattr(driver.AIOKafkaConsumerThread, "_fetch_records", fetch)


def polls(cls: type, n: int) -> list[dict[str, list[int]]]:
    """`n` polls of 3 records; the ledger's fetch lands after the first one (as the route
    agent produces those records only once it has mail)."""
    fetcher = Fetcher({"mail.raw/2": list(range(10))})
    thread, consumer = object.__new__(cls), Consumer(fetcher)
    got = []
    for i in range(n):
        got.append(asyncio.run(cls._fetch_records(thread, consumer, None, max_records=3)))
        if i == 0:
            fetcher._records["ledger/3"] = [100, 101]
    return got


def test_ledger_records_come_with_the_next_poll(faust_fetch: None) -> None:
    got = polls(ConsumerThread, 3)
    assert got[0] == {"mail.raw/2": [0, 1, 2]}
    assert got[1] == {"ledger/3": [100, 101], "mail.raw/2": [3]}
    assert got[2] == {"mail.raw/2": [4, 5, 6]}


def test_without_turns_they_wait_for_the_whole_fetch(faust_fetch: None) -> None:
    got = polls(driver.AIOKafkaConsumerThread, 4)
    assert [list(p) for p in got] == [["mail.raw/2"]] * 3 + [["mail.raw/2", "ledger/3"]]
    assert got[3] == {"mail.raw/2": [9], "ledger/3": [100, 101]}
