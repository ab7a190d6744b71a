"""faust's Kafka consumer with a short broker-side fetch wait, room for table writes, and
offset commits that keep up on transactional topics.

faust 0.15.3 builds its aiokafka consumer with fetch_max_wait_ms=1500, not a
setting. The agents' partitions share one connection, and aiokafka sends no
new fetch to a broker while one is in flight; a fetch sent for partitions with
nothing new (the ledger while the route agent still works) is held by the broker
for up to that long. mail.raw consumed meanwhile waits behind it: in the
pipeline the route agent idled about half the time with mail waiting in Kafka.

Commits: faust 0.15.3 commits the longest run of consecutive offsets acked (or known to
hold no record) from the committed one. When a record's offset jumps past the last one
read (transaction commit markers: on mail.raw one after every fetcher transaction), its
drain loop calls `_add_gap(tp, last + 1, offset)`, which marks the record's own offset as
a gap too; `_new_offset` then merges the gap into the acked offsets, the record's offset
appears twice, and the run ends at the duplicate. Each commit then moved the committed
offset on by about two (one record and its marker) whatever was handled since: with mail
arriving faster than that (a backlog after a restart, a steady stream), the group's
committed offsets fell minutes behind, kernel.lag showed the partitions as unread, and
every restart or rebalance routed the whole backlog again. Here a gap stops short of the
record, and the acked offsets are deduplicated before the run is taken.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver
from faust.types import TP
from faust.utils.functional import consecutive_numbers

# Longest a held fetch delays the next one; an idle worker asks ten times a second.
FETCH_MAX_WAIT_MS = 100
# Table changelog records waiting for the producer before faust stops delivering
# records to every agent (its default, 100, is less than one settled batch writes).
# They are produced before any offset is committed, as before.
TABLE_WRITES_BUFFERED = 20_000


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # noqa: SLF001 - read at start()
        return consumer


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """The offsets between the last record read and this one (`offset_to`, which is
        acked itself once handled) hold no record."""
        if offset_to > offset_from:
            await driver.Consumer._add_gap(self, tp, offset_from, offset_to - 1)

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit: past the run of handled-or-empty offsets from the
        committed one (faust's own, without the duplicates that cut the run short)."""
        acked = self._acked[tp]
        if not acked:
            return None
        max_offset = max(acked)
        gap_for_tp = self._gap[tp]
        if gap_for_tp:
            candidates = sorted(gap_for_tp.overlap(0, max_offset), key=lambda iv: iv.begin)
            if candidates:
                filled = [o for iv in candidates for o in range(iv.begin, iv.end)]
                acked.extend(filled)
                gap_for_tp.chop(0, max(filled[-1], max_offset + 1))
        committed = self._committed_offset[tp]
        acked[:] = sorted({o for o in acked if committed is None or o >= committed})
        self._acked_index[tp].intersection_update(acked)
        if not acked:
            return None
        if committed and acked[0] - committed > 1:
            return None  # the next offset to commit is neither handled nor known empty
        run = next(consecutive_numbers(acked))
        del acked[: len(run)]
        self._acked_index[tp].difference_update(run)
        return run[-1] + 1


def install(app: Any) -> None:
    """Make `app` build this consumer and buffer more table writes (before the worker starts)."""
    app.transport.Consumer = Consumer
    app.producer.buffer.max_messages = TABLE_WRITES_BUFFERED
