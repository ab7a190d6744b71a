"""`supportdesk up` runs the blob collector daily: first a minute after start, never two
runs at once, stopped with everything else."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from supportdesk.supervisor import Supervisor

QUICK = [sys.executable, "-c", "print('collected')"]
SLOW = [sys.executable, "-c", "import time; time.sleep(60)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_daily_job_runs_when_due_and_never_twice_at_once(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    sup = Supervisor(clock=clock, report=lines.append)
    job = sup.every(86400, "blobs gc", QUICK, tmp_path / "gc.log")
    sup.check()
    assert job.runs == 0  # not at start
    clock.now += 61
    sup.check()
    assert job.runs == 1 and lines == [f"blobs gc started (log {tmp_path / 'gc.log'})"]
    assert job.process is not None and job.process.wait(20) == 0
    assert "collected" in (tmp_path / "gc.log").read_text()
    clock.now += 3600
    sup.check()
    assert job.runs == 1  # not due for a day
    clock.now += 86400
    job.argv = SLOW
    sup.check()
    assert job.runs == 2
    clock.now += 86400  # due again, but the last run is still going
    sup.check()
    assert job.runs == 2
    t0 = time.monotonic()
    sup.stop()
    assert job.process.poll() is not None and time.monotonic() - t0 < 15
