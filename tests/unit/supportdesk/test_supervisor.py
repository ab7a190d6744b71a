"""`supportdesk up` restarts a service that exits, with backoff, and reports a crash loop once."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from supportdesk.supervisor import Supervisor

CRASH = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _exited(sup: Supervisor) -> None:
    """Wait (really) until every crashing child has exited."""
    deadline = time.monotonic() + 20
    while any(
        s.process is not None and s.process.poll() is None and s.argv == CRASH
        for s in sup.services
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_crashing_service_comes_back_with_growing_backoff_and_one_loop_report(
    tmp_path: Path,
) -> None:
    clock, lines = Clock(), []
    sup = Supervisor(clock=clock, report=lines.append, loop_crashes=3, loop_window_s=100)
    crashing = sup.add("router", CRASH, tmp_path / "router.log")
    healthy = sup.add("store", SLEEP, tmp_path / "store.log")
    try:
        starts = []
        for _ in range(5):
            _exited(sup)
            sup.check()  # notices the exit, schedules the restart
            starts.append(crashing.next_start - clock.now)
            clock.now = crashing.next_start
            sup.check()  # backoff over: started again
            assert crashing.process is not None
        assert starts == [1.0, 2.0, 4.0, 8.0, 16.0]
        assert crashing.restarts == 5
        loops = [line for line in lines if "crash loop" in line]
        assert len(loops) == 1 and "router" in loops[0] and "router.log" in loops[0]
        assert healthy.restarts == 0 and healthy.process.poll() is None
        assert (tmp_path / "router.log").read_text().count("boom") >= 5  # appended, kept
    finally:
        sup.stop(timeout=5)
    assert healthy.process.poll() is not None  # stop() ends what still runs


def test_backoff_is_capped_and_forgets_old_crashes(tmp_path: Path) -> None:
    clock = Clock()
    sup = Supervisor(clock=clock, report=lambda _: None, max_backoff_s=5, loop_window_s=50)
    service = sup.add("fetcher", CRASH, tmp_path / "fetcher.log")
    try:
        for _ in range(6):
            _exited(sup)
            sup.check()
            clock.now = service.next_start
            sup.check()
        _exited(sup)
        sup.check()
        assert service.next_start - clock.now == 5  # capped
        clock.now += 500  # a long quiet time: earlier crashes no longer count
        sup.check()
        _exited(sup)
        sup.check()
        assert service.next_start - clock.now == 1
    finally:
        sup.stop(timeout=5)
