"""faust-streaming 0.15.3's `Recovery.on_recovery_completed`, with the stream partitions
resumed only after the seek to their committed offsets and the flow-control resume.

Why: at the end of table recovery faust resumes the stream partitions (mail.raw and the
router's other inputs), then seeks them to their committed offsets (one request per
assigned partition), then calls `app.flow_control.resume()`, which empties every
channel queue and stream outbox (faust makes them all with ``clear_on_resume=True``).
The consumer's flow is already on for the changelogs, so records of a stream partition
fetched and delivered between the resume and that clear were thrown away; the next
fetch began after them, faust took the jump for a gap and committed past them. A long
chaos run lost 7 mails that way (2 Dec 11:16: a restarted router, mail.raw partition 3,
offsets 76-86 dropped between its first batch and "Worker ready", the records around
them routed; see docs/chaos.md). Resumed after the clear, no record of a stream
partition can be in a queue when it is emptied. Everything else is faust's, line for
line.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from typing import Any

from faust.tables.recovery import Recovery

PINNED = "0.15.3"

if version("faust-streaming") != PINNED:
    raise ImportError(
        f"{__name__} replaces Recovery.on_recovery_completed of faust-streaming {PINNED}, "
        f"but {version('faust-streaming')} is installed: compare the new version's method "
        "with this copy (tests/unit/router/test_faust_recovery.py) and update or remove it"
    )

ORIGINAL = Recovery.on_recovery_completed  # faust's own, kept for the test


async def on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
    """faust's, with `resume_partitions` for the stream partitions moved after the seek
    and after `flow_control.resume()` (the module docstring says why)."""
    consumer = self.app.consumer
    self.log.info("Restore complete!")
    await self.app.on_rebalance_complete.send()
    self._set_recovery_ended()
    callback_coros = [
        asyncio.ensure_future(
            table.on_recovery_completed(
                self.actives_for_table[table], self.standbys_for_table[table]
            )
        )
        for table in self.tables.values()
    ]
    if callback_coros:
        await asyncio.wait(callback_coros)
    assignment = consumer.assignment()
    if self.app.consumer_generation_id != generation_id:
        self.log.warning(
            f"Recovery rebalancing again app id "
            f"{self.app.consumer_generation_id} param {generation_id}"
        )
        return
    if assignment:
        self.log.info("Seek stream partitions to committed offsets.")
        await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
    self.completed.set()
    self.log.dev("Resume stream partitions")
    self.app.flow_control.resume()  # empties the queues: no stream record is in one yet
    consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
    consumer.resume_flow()
    app: Any = self.app
    await app._fetcher.maybe_start()  # noqa: SLF001 - faust's own call
    self.tables.on_actives_ready()
    if not self.app.assignor.assigned_standbys():
        self.tables.on_standbys_ready()
    self.app.on_rebalance_end()
    self.log.info("Worker ready")


def install() -> None:
    """Every faust app in this process finishes recovery this way (before the worker starts)."""
    Recovery.on_recovery_completed = on_recovery_completed  # type: ignore[method-assign]
