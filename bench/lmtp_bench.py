"""Latency of one mail to its ticket row: pushed by Postfix over LMTP, next to IMAP IDLE.

One run, one pipeline (`supportdesk store`, `router`, `fetcher`, `lmtp` on a real broker
and SQLite), two gateways of one department:
- LMTP: the clock starts when Postfix has accepted the mail (its SMTP DATA is answered)
  and stops at the ticket row's created_at; Postfix relays through transport_maps.
- IMAP IDLE: the clock starts when the mail is in the Dovecot mailbox (doveadm save has
  returned) and stops at the ticket row's created_at; the fetcher waits in IDLE.
Mails alternate between the two paths, one at a time, so each number is a latency, not a
queue. Goal (issue 13): LMTP p99 <= 1 s on this machine.

    .venv/bin/python -m bench lmtp_bench

Knobs: BENCH_LMTP_MAILS (100 per path), BENCH_TIMEOUT (60 s per mail),
SUPPORTDESK_KAFKA_BOOTSTRAP (an existing broker; default: a throwaway one).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from kafka import KafkaConsumer
from sqlalchemy import func, select

from bench.broker import bench_broker
from devtools.dovecot import DovecotServer
from devtools.net import free_port
from devtools.pipeline import Pipeline, isolated_settings, settings_env
from devtools.postfix import PostfixServer
from kernel.config import Settings
from kernel.crypto import encrypt
from kernel.topics import ensure_topics
from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import MailOutcome, OutboxEvent, Ticket

MAILS = int(os.environ.get("BENCH_LMTP_MAILS", "100"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "60"))
GOAL_P99_S = 1.0
CLIENT = "client@example.org"
LMTP_ADDRESS = "support@company.net"
IMAP_ADDRESS = "help@company.net"
IMAP_USER = "help@company.net"
PASSWORD = "secret"


class BenchFailure(RuntimeError):
    pass


def _mail(to: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Client <{CLIENT}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@example.org>"
    msg.set_content("The server does not answer.\n" * 20)
    return bytes(msg)


def _utc(moment: datetime) -> float:
    """SQLite gives naive datetimes (stored in UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _wait(predicate: Callable[[], object], timeout: float, what: str, pipe: Pipeline) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for name, proc in pipe.procs.items():
            if proc.poll() is not None:
                raise BenchFailure(f"{name} exited ({proc.returncode}):\n{pipe.log(name)}")
        time.sleep(0.01)
    raise BenchFailure(f"timed out after {timeout:.0f}s waiting for {what}")


def _setup(settings: Settings, dovecot: DovecotServer) -> tuple[str, str]:
    db = Database(settings.database_url, topics=settings.topics)
    try:
        with db.unit_of_work(actor="cli") as uow:
            dep = actions.departments.add_department(uow, "Technical support")
            actions.clients.add_client(uow, "Client", [CLIENT])
            lmtp = actions.gateways.add_gateway(
                uow, name="pushed", type="local", protocol="lmtp", address=LMTP_ADDRESS,
                department_id=dep.id,
            )  # fmt: skip
            imap = actions.gateways.add_gateway(
                uow, name="idle", type="external", protocol="imap", host="127.0.0.1",
                port=dovecot.imaps_port, security="tls", verify_tls=True, username=IMAP_USER,
                password_encrypted=encrypt(settings, PASSWORD), address=IMAP_ADDRESS,
                department_id=dep.id, poll_interval_s=300,
            )  # fmt: skip
            return lmtp.id, imap.id
    finally:
        db.dispose()


@dataclass
class Sample:
    subject: str
    accepted: float  # Postfix answered DATA / doveadm save returned
    ticket: float  # the ticket row's created_at
    on_raw: float = 0.0  # the mail.raw record's timestamp
    decided: float = 0.0  # the router's outcome, decided_at

    @property
    def total(self) -> float:
        return self.ticket - self.accepted


def _raw_times(settings: Settings) -> dict[str, float]:
    """email id -> timestamp of its first record on mail.raw."""
    consumer = KafkaConsumer(
        settings.topics.raw,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=3000,
    )
    times: dict[str, float] = {}
    try:
        for record in consumer:
            email_id = json.loads(record.value).get("email_id", "")
            times.setdefault(email_id, record.timestamp / 1000)
    finally:
        consumer.close()
    return times


class Run:
    """The pipeline and the two ways in; `one(path, i)` is one mail's latency in seconds."""

    def __init__(self, pipe: Pipeline, postfix: PostfixServer, dovecot: DovecotServer) -> None:
        self.pipe = pipe
        self.postfix = postfix
        self.dovecot = dovecot
        self.db = Database(pipe.settings.database_url)

    def created_at(self, subject: str) -> float | None:
        with self.db.transaction() as s:
            at = s.scalar(select(Ticket.created_at).where(Ticket.subject == subject))
        return _utc(at) if at is not None else None

    def one(self, path: str, i: int) -> Sample:
        subject = f"{path} mail {i}"
        if path == "lmtp":
            self.postfix.send(CLIENT, [LMTP_ADDRESS], _mail(LMTP_ADDRESS, subject))
        else:
            self.dovecot.save(IMAP_USER, _mail(IMAP_ADDRESS, subject))
        accepted = time.time()
        at = _wait(lambda: self.created_at(subject), TIMEOUT, f"the ticket of {subject}", self.pipe)
        return Sample(subject, accepted, float(at))  # type: ignore[arg-type]

    def stages(self, samples: list[Sample]) -> None:
        """Fill in when each mail was on mail.raw (the record's time) and decided (its
        outcome), from the ticket's source email id."""
        with self.db.transaction() as s:
            rows = s.execute(
                select(Ticket.subject, MailOutcome.decided_at)
                .join(MailOutcome, MailOutcome.email_id == Ticket.source_email_id)
                .add_columns(Ticket.source_email_id)
            ).all()
        by_subject = {subject: (email_id, _utc(at)) for subject, at, email_id in rows}
        on_raw = _raw_times(self.pipe.settings)
        for sample in samples:
            email_id, sample.decided = by_subject.get(sample.subject, ("", 0.0))
            sample.on_raw = on_raw.get(email_id, 0.0)

    def tickets(self) -> int:
        with self.db.transaction() as s:
            return s.scalar(select(func.count()).select_from(Ticket)) or 0


def _p(seconds: list[float], q: int) -> float:
    return statistics.quantiles(seconds, n=100, method="inclusive")[q - 1]


def _summary(name: str, samples: list[Sample]) -> float:
    """Prints the path's p50/p99 and each stage's; returns the path's p99."""
    total = [x.total for x in samples]
    p50, p99 = statistics.median(total), _p(total, 99)
    staged = [x for x in samples if x.on_raw and x.decided]
    stages = ""
    if len(staged) > 1:
        parts = {
            "to mail.raw": [x.on_raw - x.accepted for x in staged],
            "router": [x.decided - x.on_raw for x in staged],
            "store": [x.ticket - x.decided for x in staged],
        }
        stages = (
            "   (p50/p99 ms: "
            + ", ".join(
                f"{k} {statistics.median(v) * 1000:.0f}/{_p(v, 99) * 1000:.0f}"
                for k, v in parts.items()
            )
            + ")"
        )
    print(
        f"{name:<10} n={len(total):<4} p50 {p50 * 1000:6.0f} ms   p99 {p99 * 1000:6.0f} ms   "
        f"max {max(total) * 1000:6.0f} ms{stages}"
    )
    return p99


def main() -> int:
    from supportdesk.broker import LocalBroker

    work = Path(tempfile.mkdtemp(prefix="lmtp-bench-"))
    broker: LocalBroker | None = None
    dovecot = DovecotServer()
    postfix: PostfixServer | None = None
    pipe: Pipeline | None = None
    try:
        bootstrap, broker = bench_broker(work)
        dovecot.add_user(IMAP_USER, PASSWORD)
        dovecot.start()
        database_url = f"sqlite:///{work / 'supportdesk.db'}"
        settings = isolated_settings(
            bootstrap, database_url, work, "lmtpb-", 1, ca_file=str(dovecot.ca_path)
        )
        ensure_topics(bootstrap, settings)
        upgrade(database_url)
        lmtp_port = free_port()
        env = settings_env(settings) | {"SUPPORTDESK_LMTP_PORT": str(lmtp_port)}
        pipe = Pipeline(settings=settings, env=env, workdir=work)
        _setup(settings, dovecot)
        for name in ("store", "router", "fetcher", "lmtp"):
            pipe.start(name)
        postfix = PostfixServer([LMTP_ADDRESS], lmtp_port)
        postfix.start()
        db = Database(database_url)

        def relayed() -> bool:
            with db.transaction() as s:
                pending = select(func.count()).where(OutboxEvent.published_at.is_(None))
                return s.scalar(pending) == 0

        _wait(relayed, 120, "the directory relayed", pipe)
        db.dispose()
        run = Run(pipe, postfix, dovecot)
        # Warm-up (not counted): every process connected, the fetcher in IDLE.
        for path in ("lmtp", "imap"):
            run.one(path, -1)
        print(
            f"{MAILS} mails per path, one at a time, alternating; broker {bootstrap}; "
            f"SQLite; work dir {work}",
            flush=True,
        )
        load0 = os.getloadavg()[0]
        latencies: dict[str, list[Sample]] = {"lmtp": [], "imap": []}
        for i in range(MAILS):
            for path in ("lmtp", "imap"):
                latencies[path].append(run.one(path, i))
        if run.tickets() != 2 * MAILS + 2:
            raise BenchFailure(f"{run.tickets()} tickets for {2 * MAILS + 2} mails")
        for samples in latencies.values():
            run.stages(samples)
        print(
            f"\npath       mail accepted -> ticket row   (load average {load0:.1f} at the "
            f"start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores)"
        )
        lmtp_p99 = _summary("LMTP", latencies["lmtp"])
        _summary("IMAP IDLE", latencies["imap"])
        verdict = "met" if lmtp_p99 <= GOAL_P99_S else "NOT met"
        print(f"LMTP p99 goal <= {GOAL_P99_S:.1f} s: {verdict}")
        run.db.dispose()
    except BenchFailure as exc:
        print(f"FAILED: {exc}")
        return 1
    finally:
        if pipe is not None:
            for proc in pipe.procs.values():
                proc.terminate()
            for name in list(pipe.procs):
                pipe.stop(name)
        if postfix is not None:
            postfix.cleanup()
        dovecot.cleanup()
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
