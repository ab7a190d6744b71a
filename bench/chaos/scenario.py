"""One chaos run from nothing to a verdict: parts up, data in, services up, mail and
faults, counts checked, figures computed, everything stopped."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.chaos.checks import (
    Figures,
    check_counts,
    check_events,
    email_ids,
    figures,
    wait_settled,
)
from bench.chaos.mails import ChaosMail, broke_address, build, plan
from bench.chaos.run import ChaosConfig, Faults, Timeline, deliver_and_break
from bench.chaos.setup import SERVICES, Parts, outbox_backlog, prepare, start_parts

log = logging.getLogger("chaos")


@dataclass
class ChaosResult:
    mails: int
    failures: list[str] = field(default_factory=list)
    figures: Figures = field(default_factory=Figures)
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def report(self) -> str:
        head = f"chaos: {self.mails} mails, {self.seconds:.0f}s, " + (
            "every count exact" if not self.failures else f"{len(self.failures)} FAILURES"
        )
        return "\n".join([head, *self.figures.lines(), *(f"FAIL {f}" for f in self.failures)])


def _wait(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def start_services(parts: Parts) -> None:
    """Stores first (their relay publishes the directory), then the rest; all running."""
    for service in SERVICES:
        for inst in parts.instances:
            if inst.service == service:
                inst.start(parts.env)
        if service == "store":
            _wait(lambda: outbox_backlog(parts) == 0, 120, "the store's outbox to drain")
    _wait(
        lambda: all(i.health() == "running" for i in parts.instances), 240, "every instance running"
    )


def run_chaos(cfg: ChaosConfig, work: Path) -> ChaosResult:
    started = time.time()
    run = uuid.uuid4().hex[:6]
    kinds = plan(cfg.mails, cfg.seed)
    result = ChaosResult(mails=cfg.mails)
    parts = start_parts(work)
    faults: Faults | None = None
    try:
        notice_ns = [n for n, k in enumerate(kinds) if k == "notice"]
        prepare(
            parts,
            notice_addresses=[broke_address(n) for n in notice_ns],
            charges=sum(k == "charge" for k in kinds),
        )
        mails: list[ChaosMail] = [build(n, k, parts.reply_tags, run) for n, k in enumerate(kinds)]
        start_services(parts)
        log.info("parts and %d instances up in %.0fs", len(parts.instances), time.time() - started)
        tl = Timeline()
        faults = deliver_and_break(parts, cfg, mails, tl)
        if faults.error is not None:
            result.failures.append(f"fault injection failed: {faults.error!r}")
        for inst in parts.instances:
            if not inst.alive():
                result.failures.append(
                    f"{inst.name} is not running at the end:\n{inst.log_tail(1500)}"
                )
        # Mail still without an outcome after the drain will not settle either: check soon.
        settled = wait_settled(parts, mails, timeout=180 if len(tl.seen) >= len(mails) else 30)
        ids = email_ids(parts)
        result.failures += check_counts(parts, mails, ids)
        events = check_events(parts)
        result.failures += events.failures
        result.figures = figures(tl, mails, ids)
        result.figures.settled_s = settled
        result.figures.ticket_events = events.line()
        if tl.outage_started and len(tl.running_after_broker) < len(tl.outage_started):
            missing = set(tl.outage_started) - set(tl.running_after_broker)
            result.failures.append(f"never running after the broker came back: {missing}")
        result.events = [f"{t - tl.t0:7.1f}s {what}" for t, what in tl.events]
    finally:
        parts.close()
        if faults is not None:
            faults.release()
        result.seconds = time.time() - started
    return result
