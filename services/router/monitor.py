"""What the router reports about itself, and a tripwire for records fetched but never handled.

`Stats` is logged every few seconds (CPU by stage, what the route agent waited for,
how far behind each agent is).

`Watch` and `skipped_records` were the workaround for faust 0.15.3 losing fetched records
(the restarted router of the incidents race test deciding none of the mails sent while
it was down). The cause is known now and fixed where it is, in
`services.router.faust_getmany` (installed in app.py, pinned to faust 0.15.3): faust's
`Consumer.getmany` hands on batches aiokafka has already moved the position past, and
drops records of them without seeking back. In the race test: at the end of table
recovery every partition is paused for a moment; a fetch waiting then is given an empty
set of active partitions, which aiokafka takes for all of them, so it hands over all of
mail.raw, and getmany drops it as not active. faust's seek to the committed offsets
right after moves nothing, since the killed router had not committed yet. That module's
docstring lists every path; tests/integration/router/test_faust_getmany.py shows each
one dropping records on the real broker, and none with the fix.

The watchdog is still needed. Without fix and watchdog the race test with a restart
failed 4 of 17 runs; with the fix and no watchdog, 1 of 13, through a path outside
getmany: the restarted router handled mail.raw offsets 0-2 during its seek to the
committed offsets, then the position stood at the end (50) with nothing more handled
and no drop in getmany. That was most likely faust's end of recovery emptying the
queues that held the rest (services.router.faust_recovery, fixed 2 Dec; a long chaos
run lost 7 mails to it, records after them routed, which no watchdog can see). With
the watchdog no run failed; it stays until runs without it show the path closed. An idle agent
whose partition was fetched past what it handled is sought back, but only when the gap
stood for STUCK_BEFORE_RESEEK_S (a record fetched a moment ago is still on its way to the
agent) and a record lies in it: the consumer's position also moves past the commit
markers that close every transaction on mail.raw, which are not records
(tests/integration/router/test_watchdog.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)

IDLE_BEFORE_RESEEK_S = 3.0
# A gap between what an idle agent handled and the position must stand this long before
# it counts: the consumer moves the position when it hands a batch over, and the agent
# takes it a moment later (take_events' next tick). A single look could seek back over a
# record on its way, which the agent then handled twice (an applied replay's notice
# twice on mail.outbound: tests/unit/router/test_monitor.py).
STUCK_BEFORE_RESEEK_S = 1.0


class Stats:
    """CPU seconds spent in the router's own code, logged periodically (what limits us).

    Measured as the event loop's thread time: process time would add what faust's
    consumer thread and the blob fsync threads do meanwhile. The rest of the process's
    CPU (the line ends with it) is faust, aiokafka and the timers."""

    def __init__(self) -> None:
        self.counts = {"route": 0, "settle": 0}
        self.cpu = {"route": 0.0, "settle": 0.0, "emit": 0.0}
        # Wall seconds the route agent spent waiting, by what it waited for.
        self.waits = {"mail": 0.0, "directory": 0.0, "blob fsync": 0.0, "emit": 0.0}
        # Seconds from a record's timestamp to its agent taking it, at the latest batch.
        self.lag = {"route": 0.0, "settle": 0.0}
        self.batches = 0
        self.state = "starting"

    def took(self, agent: str, events: list[Any]) -> None:
        self.lag[agent] = max(0.0, time.time() - events[0].message.timestamp)

    def line(self) -> str:
        parts = [f"{k} {n} in {self.cpu[k]:.2f}s cpu" for k, n in self.counts.items()]
        emit = f"emit {self.cpu['emit']:.2f}s cpu"
        waits = ", ".join(f"{k} {v:.2f}s" for k, v in self.waits.items())
        lag = ", ".join(f"{k} {v:.2f}s" for k, v in self.lag.items())
        return (
            f"router stats: {', '.join(parts)}, {emit}; {self.batches} batches; "
            f"route agent waited for {waits}; behind by {lag}; route agent {self.state}"
        )


class Watch:
    """Offsets each agent finished, and since when it waits for its next record."""

    def __init__(self) -> None:
        self.done: dict = {}  # TP -> last offset fully handled
        self.idle_since: dict[str, float] = {}
        # TP -> (last handled, position) already found to hide no record: not probed again.
        self.clean: dict = {}
        # TP -> (last handled, position, since when) of a gap seen: looked at once it stood.
        self.ahead: dict = {}

    def begin(self, agent: str) -> None:
        self.idle_since.pop(agent, None)

    def finish(self, agent: str, event: Any) -> None:
        self.done[event.message.tp] = event.message.offset
        self.idle_since[agent] = time.monotonic()


async def has_records(bootstrap: str, tp: Any, start: int, end: int, timeout: float = 5.0) -> bool:
    """Whether a record (not a transaction marker) lies in [start, end) of a partition.

    Read as the agents' consumer reads (read_uncommitted), by a consumer of its own;
    True when it cannot tell in time (seeking back is harmless).
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest",  # `start` before the log start: from the log start
    )  # fmt: skip
    await consumer.start()
    try:
        part = TopicPartition(tp.topic, tp.partition)
        consumer.assign([part])
        consumer.seek(part, start)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await consumer.getmany(part, timeout_ms=200, max_records=1)
            for record in got.get(part, []):
                return record.offset < end
            if await consumer.position(part) >= end:
                return False  # only markers before `end`
        return True
    finally:
        await consumer.stop()


async def skipped_records(app: Any, bootstrap: str, watched: dict[str, str], watch: Watch) -> None:
    """Seek back each idle agent's partition that was fetched past a record it never handled.

    With faust's getmany fixed nothing should be fetched and not delivered;
    re-reading is harmless (every effect is idempotent).
    """
    consumer = app.consumer
    inner = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    if inner is None or app.rebalancing or not app.flow_control.is_active():
        return
    now = time.monotonic()
    committed = getattr(consumer, "_committed_offset", {})
    for tp in list(consumer.assignment()):
        agent = watched.get(tp.topic)
        since = watch.idle_since.get(agent or "")
        if agent is None or since is None or now - since < IDLE_BEFORE_RESEEK_S:
            continue
        try:
            state = inner._subscription.subscription.assignment.state_value(tp)  # noqa: SLF001
            position = state.position if state is not None else None
        except Exception:  # noqa: BLE001 - assignment changing under us: next round
            continue
        last = watch.done.get(tp)
        if last is None and committed.get(tp) is not None:
            last = committed[tp] - 1
        if last is None:  # nothing handled or committed yet: it read from the start
            last = -1
        if position is None or position <= last + 1:
            continue
        if watch.clean.get(tp) == (last, position):
            continue
        seen = watch.ahead.get(tp)
        if seen is None or seen[:2] != (last, position):
            watch.ahead[tp] = (last, position, now)
            continue
        if now - seen[2] < STUCK_BEFORE_RESEEK_S:
            continue
        if not await has_records(bootstrap, tp, last + 1, position):
            watch.clean[tp] = (last, position)
            log.info("skipped-records check: %s up to %d holds only markers", tp, position - 1)
            continue
        if watch.done.get(tp, last) != last or agent not in watch.idle_since:
            continue  # it moved on meanwhile
        log.warning(
            "watchdog: %s fetched up to %d but %s handled only up to %d; seeking back "
            "(a drop outside faust's getmany, see services/router/monitor.py)",
            tp, position - 1, agent, last,
        )  # fmt: skip
        await consumer.seek(tp, last + 1)
        watch.ahead.pop(tp, None)
        watch.idle_since[agent] = time.monotonic()
