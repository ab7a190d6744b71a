"""`supportdesk up` keeps its services running: one that exits is started again after a
backoff, and one that keeps crashing is reported as a crash loop, once, not per restart.

Why here and not in each service: a service that dies of a bug or an unhandled outage
must come back without an operator, as systemd's Restart=on-failure does for installs
without `up` (see deploy/systemd/).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from supportdesk.periodic import Periodic

log = logging.getLogger("supportdesk.up")


@dataclass
class Service:
    """One supervised process: its command, its log file, and its restart history."""

    name: str
    argv: Sequence[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    crashes: deque[float] = field(default_factory=deque)
    in_crash_loop: bool = False


class Supervisor:
    """Start services, restart the ones that exit (backoff doubling from `first_backoff_s`
    to `max_backoff_s`), and report a crash loop when `loop_crashes` exits fall within
    `loop_window_s`."""

    def __init__(
        self,
        *,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        loop_crashes: int = 5,
        loop_window_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.services: list[Service] = []
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.loop_crashes = loop_crashes
        self.loop_window_s = loop_window_s
        self.clock = clock
        self.report = report or (lambda line: log.warning("%s", line))
        self.periodic: list[Periodic] = []

    def add(self, name: str, argv: Sequence[str], log_path: Path) -> Service:
        service = Service(name, list(argv), log_path)
        self.services.append(service)
        self._start(service)
        return service

    def every(self, every_s: float, name: str, argv: Sequence[str], log_path: Path) -> Periodic:
        """A command run every `every_s` (first a minute after this), e.g. the blob collector."""
        job = Periodic(name, list(argv), log_path, every_s, clock=self.clock)
        self.periodic.append(job)
        return job

    def _start(self, service: Service) -> None:
        out = open(service.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        try:
            service.process = subprocess.Popen(service.argv, stdout=out, stderr=subprocess.STDOUT)
        finally:
            out.close()  # the child has its own copy of the descriptor

    def check(self) -> None:
        """Restart what exited once its backoff is over; call this every second or so."""
        now = self.clock()
        for job in self.periodic:
            if job.check():
                self.report(f"{job.name} started (log {job.log_path})")
        for service in self.services:
            process = service.process
            if process is not None and process.poll() is None:
                if service.in_crash_loop and now - service.next_start > self.loop_window_s:
                    service.in_crash_loop = False
                    self.report(f"{service.name} is running again after a crash loop")
                continue
            if process is not None:  # it just exited: schedule the restart
                self._exited(service, process.returncode, now)
            if now >= service.next_start:
                service.restarts += 1
                self._start(service)

    def _exited(self, service: Service, code: int | None, now: float) -> None:
        service.process = None
        service.crashes.append(now)
        while service.crashes and now - service.crashes[0] > self.loop_window_s:
            service.crashes.popleft()
        backoff = min(
            self.max_backoff_s, self.first_backoff_s * 2 ** max(0, len(service.crashes) - 1)
        )
        service.next_start = now + backoff
        if len(service.crashes) >= self.loop_crashes and not service.in_crash_loop:
            service.in_crash_loop = True
            self.report(
                f"{service.name} is in a crash loop: {len(service.crashes)} exits in "
                f"{self.loop_window_s:.0f}s (last code {code}); retrying every "
                f"{backoff:.0f}s, see {service.log_path}"
            )
        elif not service.in_crash_loop:
            self.report(f"{service.name} exited with code {code}; restart in {backoff:.0f}s")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to every running service, then SIGKILL what is still there after `timeout`."""
        for job in self.periodic:
            job.stop()
        running = [s.process for s in self.services if s.process and s.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
