"""The chaos scenario: mail delivered at a steady rate while a fault thread SIGKILLs
instances, kills and restarts the broker and stops the database, on a fixed seed; the
main thread samples the outcome rows so latency and stalls come from the database."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bench.chaos.mails import ChaosMail
from bench.chaos.parts import Instance
from bench.chaos.setup import Parts
from devtools.postgres import normalize_url

log = logging.getLogger("chaos")


@dataclass
class ChaosConfig:
    mails: int = 400
    minutes: float = 1.0  # mail is delivered evenly over this time; faults happen in it
    seed: int = 7
    kill_every: tuple[float, float] = (7.0, 19.0)
    restart_after: tuple[float, float] = (2.0, 5.0)
    broker_outage_s: float = 8.0
    db_outage_s: float = 20.0
    drain_timeout_s: float = 300.0

    @classmethod
    def from_env(cls, **defaults: float) -> ChaosConfig:
        """CHAOS_MAILS, CHAOS_MINUTES, CHAOS_SEED over the given defaults."""
        base = cls(**defaults)  # type: ignore[arg-type]
        return cls(
            mails=int(os.environ.get("CHAOS_MAILS", base.mails)),
            minutes=float(os.environ.get("CHAOS_MINUTES", base.minutes)),
            seed=int(os.environ.get("CHAOS_SEED", base.seed)),
            broker_outage_s=base.broker_outage_s,
            db_outage_s=base.db_outage_s,
            drain_timeout_s=base.drain_timeout_s,
        )


@dataclass
class Timeline:
    """What happened when (time.time()), for the checks and the figures."""

    t0: float = 0.0
    delivered: dict[str, float] = field(default_factory=dict)  # Message-ID -> delivered
    seen: dict[str, float] = field(default_factory=dict)  # email id -> outcome row first seen
    effect_seen: dict[str, float] = field(default_factory=dict)  # -> message/incoming row
    samples: list[tuple[float, int, int | None]] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    broker_back: float | None = None
    outage_started: list[str] = field(default_factory=list)
    running_after_broker: dict[str, float] = field(default_factory=dict)  # name -> seconds
    kills: int = 0

    def note(self, what: str) -> None:
        self.events.append((time.time(), what))
        log.info("%6.1fs %s", time.time() - self.t0, what)


def schedule(cfg: ChaosConfig, names: list[str]) -> list[tuple[float, str, str]]:
    """(seconds after start, action, instance name) from the seed: random kills with
    restarts, the broker outage (with one of each service started during it), the DB stop."""
    rng = random.Random(cfg.seed)
    span = cfg.minutes * 60
    tb, td = 0.35 * span, 0.65 * span
    events: list[tuple[float, str, str]] = [
        (tb, "broker_kill", ""),
        (tb + cfg.broker_outage_s, "broker_start", ""),
        (td, "db_stop", ""),
        (td + cfg.db_outage_s, "db_start", ""),
    ]
    for service in ("store", "router", "fetcher", "mailer"):
        events.append((tb + 1, "kill", f"{service}-1"))
        events.append((tb + 2, "outage_start", f"{service}-1"))
    quiet = (tb - 3, tb + cfg.broker_outage_s + 25)  # the broker figures stay clean
    t = rng.uniform(*cfg.kill_every)
    while t < span:
        name = rng.choice(names)
        if not quiet[0] <= t <= quiet[1]:
            events.append((t, "kill", name))
            events.append((t + rng.uniform(*cfg.restart_after), "start", name))
        t += rng.uniform(*cfg.kill_every)
    return sorted(events)


class Faults(threading.Thread):
    """Runs the schedule; late events (a slow broker start) run late, in order."""

    def __init__(self, parts: Parts, cfg: ChaosConfig, tl: Timeline) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.parts, self.cfg, self.tl = parts, cfg, tl
        self.by_name = {i.name: i for i in parts.instances}
        self.plan = schedule(cfg, list(self.by_name))
        self.error: BaseException | None = None
        self.done = threading.Event()  # the schedule has run
        # The broker restarted from this thread dies with it (LocalBroker's pdeathsig, sent
        # when the creating *thread* exits), so the thread lives until the run is over.
        self.released = threading.Event()
        self.broker_measured = threading.Event()
        self.happened: dict[str, float] = {}
        self.paired = {
            "broker_start": ("broker_kill", cfg.broker_outage_s),
            "db_start": ("db_stop", cfg.db_outage_s),
        }

    def release(self) -> None:
        self.released.set()
        self.join(timeout=5)

    def run(self) -> None:
        try:
            for at, action, name in self.plan:
                when = self.tl.t0 + at
                if action in self.paired:  # an outage lasts its length from its real start
                    stop, length = self.paired[action]
                    when = self.happened.get(stop, when) + length
                delay = when - time.time()
                if delay > 0:
                    time.sleep(delay)
                self._do(action, name)
        except BaseException as exc:  # reported by the run, never lost in a thread
            self.error = exc
            log.exception("fault thread failed")
        finally:
            self.done.set()
        self.released.wait()

    def _do(self, action: str, name: str) -> None:
        parts, tl = self.parts, self.tl
        self.happened[action] = time.time()
        inst = self.by_name.get(name)
        measuring = name in tl.outage_started and name not in tl.running_after_broker
        if action == "kill" and inst is not None and inst.alive() and not measuring:
            inst.kill()
            tl.kills += 1
            tl.note(f"SIGKILL {name}")
        elif action in ("start", "outage_start") and inst is not None and not inst.alive():
            inst.start(parts.env)
            if action == "outage_start":
                tl.outage_started.append(name)
            tl.note(f"started {name}" + (" (broker down)" if action == "outage_start" else ""))
        elif action == "broker_kill":
            pid = parts.broker.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            parts.broker.startup_seconds = None  # a killed JVM leaves no CDS archive
            parts.broker.stop()
            tl.note("SIGKILL broker")
        elif action == "broker_start":
            parts.broker.start()  # from this thread: see `released`
            tl.note("broker started again")
            watch = [self.by_name[n] for n in tl.outage_started]
            threading.Thread(target=self._broker_back, args=(watch,), daemon=True).start()
        elif action == "db_stop":
            # Not while the broker figures are taken: a store waiting for the database
            # would count as slow to come back from the broker outage.
            self.broker_measured.wait(timeout=120)
            parts.postgres.stop_server()
            tl.note("database stopped")
        elif action == "db_start":
            parts.postgres.start_server()
            tl.note("database started")

    def _broker_back(self, instances: list[Instance], timeout: float = 180) -> None:
        """When the broker serves again, and how long each instance started during the
        outage then takes to report running on /health."""
        try:
            self.parts.broker.wait_ready(180)
        except BaseException:
            self.broker_measured.set()  # the run fails anyway; the DB outage still happens
            raise
        back = self.tl.broker_back = time.time()
        self.tl.note("broker ready again")
        todo = {i.name: i for i in instances}
        while todo and time.time() - back < timeout:
            for name, inst in list(todo.items()):
                if inst.health() == "running":
                    self.tl.running_after_broker[name] = time.time() - back
                    del todo[name]
            time.sleep(0.2)
        self.broker_measured.set()


EFFECTS = (
    "SELECT source_email_id FROM messages WHERE source_email_id IS NOT NULL "
    "UNION ALL SELECT email_id FROM incoming_emails"
)


class OutcomeSampler:
    """Reads the outcome rows' email ids; the first time one shows up is its arrival."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(
            normalize_url(database_url), poolclass=NullPool, connect_args={"connect_timeout": 2}
        )

    def sample(self, tl: Timeline) -> int | None:
        now = time.time()
        try:
            with self.engine.connect() as conn:
                ids = conn.exec_driver_sql("SELECT email_id FROM mail_outcomes").scalars().all()
                effects = conn.exec_driver_sql(EFFECTS).scalars().all()
        except sa.exc.SQLAlchemyError:
            tl.samples.append((now, len(tl.delivered), None))
            return None
        for email_id in ids:
            tl.seen.setdefault(email_id, now)
        for email_id in effects:
            tl.effect_seen.setdefault(email_id, now)
        tl.samples.append((now, len(tl.delivered), len(ids)))
        return len(ids)

    def close(self) -> None:
        self.engine.dispose()


def deliver_and_break(
    parts: Parts, cfg: ChaosConfig, mails: list[ChaosMail], tl: Timeline,
    on_tick: Callable[[], None] | None = None,
) -> Faults:  # fmt: skip
    """Deliver every mail on schedule with the faults running; return when it is all in
    the database (or the drain timeout passes) and the fault schedule is done. The caller
    releases the fault thread once the broker is stopped."""
    assert parts.settings is not None
    span = cfg.minutes * 60
    sampler = OutcomeSampler(parts.settings.database_url)
    faults = Faults(parts, cfg, tl)
    tl.t0 = time.time()
    faults.start()
    sent, next_sample = 0, 0.0
    try:
        while sent < len(mails):
            due = min(len(mails), int((time.time() - tl.t0) / span * len(mails)) + 1)
            batch = mails[sent:due]
            for mailbox in {m.mailbox for m in batch}:
                mine = [m for m in batch if m.mailbox == mailbox]
                parts.dovecot.deliver_many(mailbox, (m.data for m in mine))
                now = time.time()
                for m in mine:
                    tl.delivered[m.message_id] = now
            sent = due
            if time.time() >= next_sample:
                sampler.sample(tl)
                next_sample = time.time() + 0.5
                if on_tick:
                    on_tick()
            time.sleep(0.1)
        tl.note(f"all {len(mails)} mails delivered")
        deadline = time.time() + cfg.drain_timeout_s
        while time.time() < deadline:
            count = sampler.sample(tl)
            if count is not None and count >= len(mails) and faults.done.is_set():
                break
            time.sleep(0.5)
        tl.note(f"drained: {len(tl.seen)} outcome rows")
    finally:
        sampler.close()
    return faults
