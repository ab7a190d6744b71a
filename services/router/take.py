"""faust-streaming 0.15.3's `Stream.take_events`, except that a batch is taken as soon as
the buffer stops growing, not only when it is full or `within` has passed.

With mail arriving in bursts (one fetch of mail.raw at a time through faust's consumer
thread), take_events held a partial batch for the whole `within` (50 ms) while the
next fetch was on its way: the route agent sat idle with mail in its buffer, half of
its batches in a pipeline run. Here it waits `within` for the first event as before
(an idle agent wakes just as often), then gathers until the buffer is full, `within`
has passed, or `gap` went by without a new event. A batch costs little CPU of its own
(353 batches cost the same route, settle and emit CPU as 35 for 5,000 mails).

Buffering, acks and the hand-over are faust's own, line for line. Pinned: importing
this on another faust-streaming version fails, so an upgrade re-checks it.
"""

from __future__ import annotations

import asyncio
from asyncio import CancelledError
from collections.abc import AsyncGenerator, Sequence
from importlib.metadata import version
from typing import Any

from faust.types import EventT
from mode.utils.aiter import aiter
from mode.utils.futures import notify

PINNED = "0.15.3"

if version("faust-streaming") != PINNED:
    raise ImportError(
        f"{__name__} copies Stream.take_events of faust-streaming {PINNED}, but "
        f"{version('faust-streaming')} is installed: compare it with the new version's "
        "take_events and update or remove it"
    )


def take_events(
    stream: Any, max_: int, within: float, gap: float
) -> AsyncGenerator[Sequence[EventT], None]:
    """Batches of up to `max_` events (see the module docstring); acked once handled."""
    agen = _take_events(stream, max_, within, gap)
    stream._active_agens.add(agen)  # noqa: SLF001 - what faust's decorator does: closed on stop
    return agen


async def _take_events(
    self: Any, max_: int, within: float, gap: float
) -> AsyncGenerator[Sequence[EventT], None]:
    buffer: list[Any] = []
    events: list[EventT] = []
    buffer_add = buffer.append
    event_add = events.append
    buffer_size = buffer.__len__
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    first_added = asyncio.Event()  # ours: the buffer is no longer empty
    timeout = within
    stream_enable_acks: bool = self.enable_acks
    loop = asyncio.get_running_loop()

    buffer_consuming: asyncio.Future | None = None

    channel_it = aiter(self.channel)

    async def add_to_buffer(value: Any) -> Any:
        try:
            nonlocal buffer_consuming
            if buffer_consuming is not None:
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            buffer_add(value)
            event = self.current_event
            if event is None:
                raise RuntimeError("Take buffer found current_event is None")
            event_add(event)
            first_added.set()
            if buffer_size() >= max_:
                buffer_full.set()
                buffer_consumed.clear()
                await self.wait(buffer_consumed)
        except CancelledError:  # pragma: no cover
            raise
        except Exception as exc:
            self.log.exception("Error adding to take buffer: %r", exc)
            await self.crash(exc)
        return value

    self.enable_acks = False

    self.add_processor(add_to_buffer)
    self._enable_passive(channel_it)
    try:
        while not self.should_stop:
            if not buffer:  # idle: wake every `within`, as faust's take_events does
                await self.wait_for_stopped(first_added, timeout=timeout)
            deadline = loop.time() + timeout
            while buffer and not buffer_full.is_set() and not self.should_stop:
                seen = buffer_size()
                left = deadline - loop.time()
                if left <= 0:
                    break
                await self.wait_for_stopped(buffer_full, timeout=min(gap, left))
                if buffer_size() == seen:
                    break  # nothing new for `gap`: the burst is over, take what is here
            if buffer:
                buffer_consuming = loop.create_future()
                try:
                    yield list(events)
                finally:
                    buffer.clear()
                    first_added.clear()
                    for event in events:
                        await self.ack(event)
                    events.clear()
                    notify(buffer_consuming)
                    buffer_full.clear()
                    buffer_consumed.set()
    finally:
        self.enable_acks = stream_enable_acks
        self._processors.remove(add_to_buffer)
