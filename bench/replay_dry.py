"""The replay dry run over the mails a router benchmark just routed (their outcomes are
the recorded decisions): mails per second of the whole `dry_run` (reading the directory,
the outcomes and the ledger, then mail.raw, and deciding every mail), for
`router_bench` to print next to the router's rate from the same run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kernel.config import Settings, Topics
from schemas.replay import ReplayReport, ReplaySelection
from services.router.replay.engine import dry_run


@dataclass
class ReplayRun:
    report: ReplayReport
    seconds: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.report.selected / max(self.seconds, 1e-6)


def measure(bootstrap: str, topics: dict[str, str], app_id: str, blob_dir: Path) -> ReplayRun:
    settings = Settings(
        kafka_bootstrap=bootstrap, topics=Topics(**topics), router_app_id=app_id,
        blob_dir=blob_dir, var_dir=blob_dir.parent,
    )  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    run = dry_run(settings, ReplaySelection())
    return ReplayRun(run.report_, time.perf_counter() - t0, time.process_time() - c0)


def line(replay: ReplayRun, router_rate: float, router_cpu_rate: float = 0.0) -> str:
    r = replay.report
    changed = ", ".join(f"{c.old}->{c.new} {c.count}" for c in r.matrix if c.old != c.new)
    cpu_rate = r.selected / max(replay.cpu_s, 1e-6)
    text = (
        f"replay dry run: {replay.rate:6.0f} mails/s  ({r.selected} mails in "
        f"{replay.seconds:.1f}s; {len(r.changed)} changed{': ' + changed if changed else ''}, "
        f"{len(r.gone)} gone); ratio replay/router {replay.rate / max(router_rate, 1e-6):.2f}"
    )
    if router_cpu_rate:
        text += (f"\nreplay per CPU second: {cpu_rate:.0f} mails/s; ratio replay/router "
                 f"{cpu_rate / router_cpu_rate:.2f}")  # fmt: skip
    return text
