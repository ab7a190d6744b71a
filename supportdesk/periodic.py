"""A command `supportdesk up` runs every so often (the daily blob collection), as a child
process: it never blocks the supervision loop, and two runs never overlap."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Periodic:
    """Runs `argv` `first_after_s` after it is made, then every `every_s` (from each start);
    call `check()` from the supervision loop."""

    name: str
    argv: Sequence[str]
    log_path: Path
    every_s: float
    first_after_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0
    next_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.next_at = self.clock() + self.first_after_s

    def check(self) -> bool:
        """Start a run if one is due and none is running; True when one was started."""
        now = self.clock()
        if now < self.next_at or (self.process is not None and self.process.poll() is None):
            return False
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        self.runs += 1
        self.next_at = now + self.every_s
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
