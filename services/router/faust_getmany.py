"""faust-streaming 0.15.3's `Consumer.getmany`, fixed to seek back over records it drops.

aiokafka moves a partition's position past a fetched batch when it hands the batch
over. faust 0.15.3's getmany then drops records of that batch without seeking back:
(a) records of a partition that is not active are skipped: paused mid-batch, or handed
over only because every partition was paused while the fetch waited (faust passes its
live set of active partitions, and to aiokafka an empty set means all of them: so at
the end of table recovery, between pausing the changelogs and resuming the streams);
(b) `flow_active` turning false and (c) a changed generation id `break` out of the
batch; (d) a batch fetched while the flow stopped is thrown away with a seek to the
committed offsets, which aiokafka skips for a partition never committed (or at 0).
Nothing reads them again until a rebalance seeks to the committed offsets (if any), and
once a later record of the partition is acked, faust takes the dropped offsets for a
gap (as left by compaction or transaction markers) and commits past them: lost for good
(tests/integration/router/test_faust_getmany.py shows each path on the real broker).

This is the same getmany, except that each partition with records not handed over is
sought back to the first of them (re-reading is harmless: every effect of the router is
idempotent). A record being handed over when the flow stops counts as not handed over:
faust's drain loop cancels its delivery then.

Pinned: importing this on another faust-streaming version fails, so an upgrade re-checks
whether the bug is still there (run the test above against unpatched faust).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from importlib.metadata import version

from faust.transport.consumer import Consumer
from faust.types import TP, Message

PINNED = "0.15.3"

if version("faust-streaming") != PINNED:
    raise ImportError(
        f"{__name__} replaces Consumer.getmany of faust-streaming {PINNED}, but "
        f"{version('faust-streaming')} is installed: run tests/integration/router/"
        "test_faust_getmany.py against the new version's own getmany (uninstalled patch) and "
        "update or remove this patch"
    )

log = logging.getLogger(__name__)

ORIGINAL = Consumer.getmany  # faust's own, kept for the test that shows the drops


async def getmany(self: Consumer, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
    """faust 0.15.3's getmany (round-robin over partitions) that never drops silently."""
    records, active_partitions = await self._wait_next_records(timeout)
    generation_id = self.app.consumer_generation_id
    if records is None or self.should_stop:
        return
    if not self.flow_active:
        # As faust: every partition goes back to its committed offset, this batch with it;
        # but aiokafka leaves a partition never committed (or at 0) where the batch moved
        # it, so each goes back to the batch's first record first.
        await _seek_back(self, {tp: batch[0].offset for tp, batch in records.items() if batch})
        try:
            await self.perform_seek()
        except Exception as exc:  # noqa: BLE001 - as faust: the next getmany tries again
            log.warning("exception performing seek when flow not active %r", exc)
        return
    taken = dict.fromkeys(records, 0)  # records of each partition looked at
    dropped: dict[TP, int] = {}  # partition -> first offset not handed over
    try:
        for tp, record in self.scheduler.iterate(records):
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break
            taken[tp] += 1
            if (
                active_partitions is None
                or tp in active_partitions
                or tp in self._buffered_partitions
            ):
                self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                yield tp, self._to_message(tp, record)
                if not self.flow_active:  # its delivery may have been cancelled
                    dropped.setdefault(tp, record.offset)
                    break
            else:
                dropped.setdefault(tp, record.offset)
    finally:
        for tp, batch in records.items():
            if taken[tp] < len(batch):
                first = batch[taken[tp]].offset
                dropped[tp] = min(dropped.get(tp, first), first)
        if dropped:
            await _seek_back(self, dropped)


async def _seek_back(consumer: Consumer, dropped: dict[TP, int]) -> None:
    assigned = consumer.assignment()
    for tp, offset in dropped.items():
        if tp not in assigned:
            continue  # revoked: its next owner starts from the committed offset
        log.info("faust fetched %s from offset %d but did not hand it on: seeking back", tp, offset)
        try:
            await consumer.seek(tp, offset)
        except Exception:  # noqa: BLE001 - revoked meanwhile: as above
            log.warning("could not seek %s back to %d", tp, offset, exc_info=True)


def install() -> None:
    """Every faust consumer in this process uses the fixed getmany (before the worker starts)."""
    Consumer.getmany = getmany  # type: ignore[method-assign]
