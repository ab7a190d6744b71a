"""faust 0.15.3's Consumer.getmany drops fetched records (issue 12, item 3), and our fix.

A tiny faust app (one agent on a fresh one-partition topic, the real broker, faust's own
aiokafka consumer) is handed a batch of records in one fetch, and one of the things
faust's getmany does not survive happens:
- as record K of the batch is handed on, its partition is paused, the flow stops (a
  rebalance) or the generation id changes: the rest of the batch is dropped;
- the whole assignment is paused while a fetch waits (as when tables finish recovering,
  before the stream partitions resume): to aiokafka an empty set of partitions means all
  of them, so it hands over the new records, and faust drops them as not active;
- the flow stops while a fetch waits: faust throws the batch away and seeks to the
  committed offsets, which moves no partition that was never committed.
Unpatched, the dropped records never reach the agent, and faust commits past them once
a later record is acked; with `faust_getmany.getmany`, every record reaches the agent and
the commit covers only what was handled.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.transport.drivers import aiokafka as driver
from faust.types import TP
from kafka import KafkaAdminClient, KafkaProducer

from kernel.topics import create_missing
from services.router import faust_getmany

pytestmark = pytest.mark.integration

N, K = 20, 5  # records per batch; the fault strikes as record K is handed over


def pause(consumer: Any, tp: Any) -> Callable[[], None]:
    tp = TP(tp.topic, tp.partition)  # faust's own (resume_partitions does not convert)
    consumer.pause_partitions({tp})
    return lambda: consumer.resume_partitions({tp})


def stop_flow(consumer: Any, tp: Any) -> Callable[[], None]:
    consumer.stop_flow()
    return consumer.resume_flow


def new_generation(consumer: Any, tp: Any) -> Callable[[], None]:
    consumer.app.consumer_generation_id += 1  # before record K's message takes it
    return lambda: None


class Probe(driver.Consumer):
    """faust's aiokafka consumer, through the fixed getmany or faust's own, with a fault."""

    use_fix = False
    fault: Callable[[Any, Any], Callable[[], None]] = staticmethod(pause)
    strike_at: int | None = None
    undo: Callable[[], None] | None = None

    fixed_calls = batches_done = struck_in = 0
    long_fetch = fetching_long = False

    async def getmany(self, timeout: float) -> AsyncIterator[Any]:
        self.fixed_calls += self.use_fix
        mine = faust_getmany.getmany if self.use_fix else faust_getmany.ORIGINAL
        async for item in mine(self, timeout):
            yield item
        self.batches_done += 1

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        long, self.long_fetch = self.long_fetch, False
        self.fetching_long = long  # one fetch that waits long enough for a fault
        try:
            return await super()._getmany(active_partitions, 10.0 if long else timeout)
        finally:
            self.fetching_long = False

    def _to_message(self, tp: Any, record: Any) -> Any:
        if record.offset == self.strike_at:
            self.strike_at, self.struck_in = None, self.batches_done
            self.undo = type(self).fault(self, tp)
        return super()._to_message(tp, record)


def produce(bootstrap: str, topic: str, count: int) -> int:
    """`count` records in one batch (one fetch); returns the offset of the first."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=200, batch_size=1 << 20)
    try:
        futures = [producer.send(topic, b"x", partition=0) for _ in range(count)]
        producer.flush()
        return futures[0].get(timeout=10).offset
    finally:
        producer.close()


def committed(bootstrap: str, group: str, topic: str) -> int | None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    for tp, meta in offsets.items():
        if tp.topic == topic:
            return meta.offset
    return None


async def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def one_round(
    app: faust.App, bootstrap: str, topic: str, seen: list[int], first: int
) -> range:
    """A batch from offset `first` with the fault at its K-th record, then one record after
    the fault is undone. Returns the offsets of the round, the last one that record."""
    consumer = app.consumer
    consumer.strike_at = first + K  # before the batch exists: it is fetched at once
    assert await asyncio.to_thread(produce, bootstrap, topic, N) == first
    await wait_for(lambda: consumer.strike_at is None, 30, "the fault")
    # The rest of the batch handed on, or dropped, before the fault is undone.
    await wait_for(lambda: consumer.batches_done > consumer.struck_in, 10, "the batch's end")
    consumer.undo()
    last = await asyncio.to_thread(produce, bootstrap, topic, 1)
    await wait_for(lambda: last in seen, 30, f"offset {last} to reach the agent")
    await consumer.commit()
    return range(first, last + 1)


async def paused_while_fetching(
    app: faust.App, bootstrap: str, topic: str, seen: list[int], first: int
) -> range:
    """The same round, but every partition is paused while a fetch waits for the batch."""
    consumer = app.consumer
    consumer.long_fetch = True
    await wait_for(lambda: consumer.fetching_long, 10, "a fetch waiting")
    tps = {TP(tp.topic, tp.partition) for tp in consumer.assignment()}
    done = consumer.batches_done
    consumer.pause_partitions(tps)  # the set that fetch was given is empty now
    assert await asyncio.to_thread(produce, bootstrap, topic, N) == first
    await wait_for(lambda: consumer.batches_done > done, 20, "the batch's end")
    consumer.resume_partitions(tps)
    last = await asyncio.to_thread(produce, bootstrap, topic, 1)
    await wait_for(lambda: last in seen, 30, f"offset {last} to reach the agent")
    await consumer.commit()
    return range(first, last + 1)


async def stopped_while_fetching(
    app: faust.App, bootstrap: str, topic: str, seen: list[int], first: int
) -> range:
    """The flow stops while a fetch waits for the batch: faust throws the batch away and
    seeks to the committed offsets. Nothing is committed here: aiokafka has no offset to
    seek the partition to, in either round."""
    consumer = app.consumer
    consumer.long_fetch = True
    await wait_for(lambda: consumer.fetching_long, 10, "a fetch waiting")
    await asyncio.sleep(0.3)  # the consumer thread is in the fetch (it checks the flow first)
    done = consumer.batches_done
    consumer.stop_flow()
    assert await asyncio.to_thread(produce, bootstrap, topic, N) == first
    await wait_for(lambda: consumer.batches_done > done, 20, "the batch's end")
    consumer.resume_flow()
    last = await asyncio.to_thread(produce, bootstrap, topic, 1)
    await wait_for(lambda: last in seen, 30, f"offset {last} to reach the agent")
    return range(first, last + 1)


async def run(
    bootstrap: str, datadir: Path, fault: Callable, rounds: Callable = one_round
) -> dict[str, Any]:
    group = topic = f"test.getmany.{uuid.uuid4().hex[:8]}"
    # Before the app subscribes (a topic it cannot see is left unassigned), with faust's own.
    create_missing(bootstrap, {topic: {}, f"{group}-__assignor-__leader": {}}, 1)
    app = faust.App(
        group, broker=f"kafka://{bootstrap}", store="memory://", web_enabled=False,
        datadir=str(datadir), consumer_auto_offset_reset="earliest", topic_partitions=1,
        topic_allow_declare=False, broker_commit_interval=3600.0,
    )  # fmt: skip
    probe = type("FaultyProbe", (Probe,), {"fault": staticmethod(fault)})
    app.transport.Consumer = probe
    seen: list[int] = []

    @app.agent(app.topic(topic, key_serializer="raw", value_serializer="raw"))
    async def take(stream: Any) -> None:
        async for event in stream.events():
            seen.append(event.message.offset)

    await app.start()
    try:
        await wait_for(lambda: bool(app.consumer.assignment()), 60, "the assignment")
        unpatched = await rounds(app, bootstrap, topic, seen, 0)
        lost_commit = await asyncio.to_thread(committed, bootstrap, group, topic)
        probe.use_fix = True  # from faust's drain loop's next call: wait for it
        await wait_for(lambda: app.consumer.fixed_calls > 0, 10, "a fixed getmany")
        fixed = await rounds(app, bootstrap, topic, seen, unpatched[-1] + 1)
        fixed_commit = await asyncio.to_thread(committed, bootstrap, group, topic)
    finally:
        await app.stop()
    return {
        "seen": set(seen), "unpatched": unpatched, "fixed": fixed,
        "lost_commit": lost_commit, "fixed_commit": fixed_commit,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "rounds", "dropped_from"),
    [
        (pause, one_round, K + 1),
        (stop_flow, one_round, K + 1),
        (new_generation, one_round, K + 1),
        (None, paused_while_fetching, 0),
        (None, stopped_while_fetching, 0),
    ],
    ids=["pause", "stop_flow", "new_generation", "paused_while_fetching", "stopped_while_fetching"],
)
def test_getmany_drops_fetched_records_unless_fixed(
    kafka_bootstrap: str, tmp_path: Path, fault: Callable | None, rounds: Callable,
    dropped_from: int,
) -> None:  # fmt: skip
    got = asyncio.run(run(kafka_bootstrap, tmp_path, fault or pause, rounds))
    seen, unpatched, fixed = got["seen"], got["unpatched"], got["fixed"]

    # faust's own getmany: the rest of the batch never reaches the agent ...
    dropped = set(unpatched[dropped_from:N])
    assert dropped and not dropped & seen, f"dropped none of {sorted(dropped)}: {sorted(seen)}"
    assert set(unpatched[:dropped_from]) <= seen and unpatched[-1] in seen
    # ... and is committed past: a restart would not read it again.
    assert got["lost_commit"] == (None if rounds is stopped_while_fetching else unpatched[-1] + 1)

    # The fixed getmany: every record of the round reaches the agent, before the commit.
    assert set(fixed) <= seen, f"dropped {sorted(set(fixed) - seen)}"
    assert got["fixed_commit"] == (None if rounds is stopped_while_fetching else fixed[-1] + 1)
