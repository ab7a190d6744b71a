"""Tickets first: while the mail consumer is in a burst, the operations consumer waits.

The mail log, dead letters and gateway health are for operators; the tickets are
what clients and staff wait for. In a burst both consumers of the store want the
same CPU (and on SQLite the one write lock), and the mail log reads every raw
mail: about a third of the store's CPU in a 5,000-mail burst (py-spy of the
end-to-end bench). So the operations consumer waits before each poll while the
mail consumer has taken a full-sized poll within `hold_s`, for at most
`max_wait_s`. After a wait that ran out it reads until it is caught up (a poll
short of a full one) before it waits again: under a steady load it still keeps
up, a burst costs the log at most `max_wait_s` of delay.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BurstGate:
    burst_records: int = 200  # a mail-consumer poll this large means a burst
    hold_s: float = 1.0  # a burst lasts this long after such a poll
    max_wait_s: float = 10.0  # the longest the operations consumer waits at a time
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _busy_until: float = field(default=float("-inf"), repr=False)
    _catching_up: bool = field(default=False, repr=False)

    def saw(self, records: int) -> None:
        """The mail consumer polled `records` records."""
        if records >= self.burst_records:
            self._busy_until = self.clock() + self.hold_s

    @property
    def busy(self) -> bool:
        return self.clock() < self._busy_until

    def wait_turn(self, stopping: threading.Event) -> float:
        """Before an operations poll: wait while a burst lasts (bounded); the seconds waited."""
        start = self.clock()
        if self._catching_up:
            return 0.0
        while not stopping.is_set():
            now = self.clock()
            if now >= self._busy_until:
                break
            if now - start >= self.max_wait_s:
                self._catching_up = True  # read until caught up before waiting again
                break
            stopping.wait(min(0.1, self._busy_until - now, start + self.max_wait_s - now))
        return self.clock() - start

    def polled(self, records: int, full: int) -> None:
        """After an operations poll of `records` (of at most `full`): caught up or not."""
        if records < full:
            self._catching_up = False
