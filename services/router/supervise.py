"""The router worker started again in place when it crashes (issue 12, item 2).

faust ends the whole worker when a timer, a task or the consumer thread raises (the
skipped-records watchdog's "Unable to bootstrap" while the broker was away, a commit
error it does not retry, the broker vanishing between the start-up checks and the
consumer's bootstrap); the process then exited 1 and stayed down until something outside
started it. Here the process executes itself again instead (same pid, so a supervisor
or the chaos harness sees one live process; the same static member id, so the group
gives it back its partitions), after a backoff that grows while the crashes come in
quick succession. A clean stop (SIGTERM, exit 0) is not a crash.

A crash of the faust app itself (a timer or task raising) restarts at once: faust's
own stop waited a minute on a consumer thread that could not reach the broker before
the worker exited (seen in tests/integration/router/test_broker_outage.py). Skipping it
is as safe as a SIGKILL: offsets are committed only after the outputs were flushed.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from kernel import health

log = logging.getLogger(__name__)

CRASHES_ENV = "SUPPORTDESK_ROUTER_CRASHES"
# A worker that ran this long before crashing starts a new count (no crash loop).
QUICK_S = 120.0
MAX_BACKOFF_S = 30.0
CRASH_LOOP = 4
_began = time.monotonic()


def run(start: Callable[[], None]) -> None:
    """Run `start` (the worker, until it stops); on a crash, start this process anew."""
    try:
        start()
        return
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        reason = f"exit status {exc.code}"
    except Exception as exc:  # noqa: BLE001 - any crash: restarted below
        log.exception("router worker failed")
        reason = f"{type(exc).__name__}: {exc}"
    restart(reason)


def restart_on_crash(app: Any) -> None:
    """Start again at once when the faust app crashes, without its minute-long stop."""

    async def crashed(reason: BaseException) -> None:
        log.error("router worker crashed", exc_info=reason)
        restart(f"{type(reason).__name__}: {reason}")

    app.crash = crashed


def restart(reason: str) -> None:
    """Execute this process's command again, after a backoff (never returns)."""
    quick = time.monotonic() - _began < QUICK_S
    crashes = int(os.environ.get(CRASHES_ENV, "0")) + 1 if quick else 1
    delay = min(2.0 ** (crashes - 1), MAX_BACKOFF_S)
    loop = f"; crash loop: {crashes} crashes in a row" if crashes >= CRASH_LOOP else ""
    log.error("router worker crashed (%s); starting it again in %.0fs%s", reason, delay, loop)
    health.set_state("starting")
    # faust's handlers run on its event loop, blocked now: a SIGTERM meanwhile must stop us.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    time.sleep(delay)
    os.environ[CRASHES_ENV] = str(crashes)
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
