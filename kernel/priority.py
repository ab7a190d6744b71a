"""A service process's CPU priority (its nice value), for every thread it has.

The router is the pipeline's one CPU-bound stage and it is single-threaded: on a
machine it shares with the fetcher, the store, the broker and the database, it is
the stage everything waits for. Run first (nice -10), it cannot take more than the
one core its event loop runs on, so the others still have every other core.
Measured on 2 cores (bench/e2e_bench.py, 5,000 mails, single rounds on a machine
whose speed drifts by a third): end to end was 0.55-0.82 of the router-alone rate
with only this changed, against 0.63 and 0.66 without it.

Linux keeps a nice value per thread and a new thread copies its creator's, so the
value is set on each thread the process already has, and later ones inherit it.
A lower (better) value needs CAP_SYS_NICE: root, or systemd's Nice= in the unit
(applied before the service drops its privileges). Without it the process says
so once and runs at the priority it was given.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def _threads() -> list[int]:
    try:
        return [int(t.name) for t in Path("/proc/self/task").iterdir()]
    except OSError:  # no /proc (not Linux): the calling thread only
        return [0]


def set_niceness(role: str, nice: int | None) -> int:
    """Give every thread of this process the nice value `nice` (None: leave it).

    Returns the process's nice value afterwards; never raises for a lack of
    permission or a platform without priorities.
    """
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice is None or nice == current:
        return current
    try:
        for tid in _threads():
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except PermissionError:
        log.warning(
            "%s: may not change its CPU priority to nice %d (needs CAP_SYS_NICE: root, or "
            "Nice= in its systemd unit); running at nice %d", role, nice, current,
        )  # fmt: skip
    except (OSError, AttributeError) as exc:  # a thread that just ended; no priorities
        log.warning("%s: CPU priority left at nice %d (%s)", role, current, exc)
    now = os.getpriority(os.PRIO_PROCESS, 0)
    if now != current:
        log.info("%s: CPU priority nice %d (was %d)", role, now, current)
    return now
