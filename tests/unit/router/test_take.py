"""services.router.take: a partial batch is taken once the burst stops, not after `within`."""

from __future__ import annotations

import asyncio
import time

import faust
from services.router import take


def _app(tmp_path) -> faust.App:
    return faust.App(
        "test-take", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False,
        datadir=str(tmp_path),
    )  # fmt: skip


def test_a_burst_is_taken_after_the_gap_not_within(tmp_path) -> None:
    asyncio.run(_burst(tmp_path))


async def _burst(tmp_path) -> None:
    app = _app(tmp_path)
    batches: list[tuple[list[int], float]] = []

    @app.agent()
    async def agent(stream):
        async for events in take.take_events(stream, 200, 2.0, 0.005):
            batches.append(([e.value for e in events], time.monotonic()))

    async with agent.test_context() as ctx:
        t0 = time.monotonic()
        for i in range(30):
            await ctx.put(i)
        for _ in range(200):  # faust's own take_events would hold these for `within` (2 s)
            if batches:
                break
            await asyncio.sleep(0.01)
        assert batches, "no batch within 2 s"
        values, at = batches[0]
        assert values == list(range(30))
        assert at - t0 < 1.0
        for i in range(30, 40):
            await ctx.put(i)
        for _ in range(200):
            if len(batches) > 1:
                break
            await asyncio.sleep(0.01)
        assert [v for b, _ in batches for v in b] == list(range(40))


def test_a_full_buffer_is_taken_at_once_and_never_more_than_max(tmp_path) -> None:
    asyncio.run(_full(tmp_path))


async def _full(tmp_path) -> None:
    app = _app(tmp_path)
    sizes: list[int] = []

    @app.agent()
    async def agent(stream):
        async for events in take.take_events(stream, 10, 2.0, 0.5):
            sizes.append(len(events))

    async with agent.test_context() as ctx:
        for i in range(25):
            await ctx.put(i)
        for _ in range(300):
            if sum(sizes) == 25:
                break
            await asyncio.sleep(0.01)
    assert sum(sizes) == 25
    assert max(sizes) <= 10
    assert sizes[:2] == [10, 10]
