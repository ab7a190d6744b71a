"""The ticket store alone: its CPU per mail while router output arrives at the e2e's pace.

A real `supportdesk store` process on a real broker and database. The bench feeds
what the fetcher and the router put on the broker for N mails of ~9 KB from one
known client (as in bench/e2e_bench.py): RawEmails on mail.raw at the fetcher's
pace, then per mail an OpenTicket on tickets.commands and an Outcome on
mail.outcomes at the router's pace. It prints the store's CPU seconds (process tree,
/proc) from the start of the feed to the last ticket row (the e2e's window) and to
everything done (mail log complete, outbox relayed), and how far the tickets and the
mail log lagged behind the feed.

    .venv/bin/python -m bench store_bench
    .venv/bin/python -m bench.store_bench --mails 5000 --runs 3 --database sqlite

Knobs: --raw-rate / --rate (mails/s fed; 0 = all at once), --database sqlite|postgresql,
--runs (each with fresh topics and database; the median is printed last),
--profile DIR (py-spy, from `pip install -e ".[bench]"`, of the store into DIR, sampling
the thread that holds the GIL, i.e. where its Python CPU goes, per thread; and each
thread's CPU in the window).
SUPPORTDESK_KAFKA_BOOTSTRAP: an existing broker (default: a throwaway one).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy import func, select

from bench.broker import bench_broker
from bench.e2e_parts import group_stable, wait_for
from devtools.mail import mail
from devtools.pipeline import Pipeline, isolated_settings, settings_env
from devtools.procstat import tree_cpu_seconds
from kernel.topics import ensure_topics
from schemas.events import (
    Decision,
    GatewaySnapshot,
    MailContent,
    MailSource,
    OpenTicket,
    Outcome,
    RawEmail,
    email_id_for,
)
from schemas.ticket_tag import new_ticket_id
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import OutboxEvent, Ticket
from services.ticket_store.models_operations import DeadLetterRecord
from services.ticket_store.models_operations import MailSource as MailSourceRow

CLIENT = "client@example.org"
GATEWAY = "support@company.net"
GATEWAY_ID = "gw-bench"


@dataclass
class Feed:
    """Serialised records per topic field, in feed order: (key, value)."""

    raw: list[tuple[bytes, bytes]]
    outputs: list[tuple[str, bytes, bytes]]  # (topic field, key, value)


def build_feed(n: int, size: int, client_id: int, department_id: int) -> Feed:
    """What the fetcher and the router publish for `n` new-ticket mails (serialised)."""
    raw, outputs = [], []
    tag = uuid.uuid4().hex[:6]
    for i in range(n):
        data = mail(i, to=GATEWAY, size=size, tag=tag, sender=CLIENT)
        source = MailSource(protocol="imap", uidvalidity=1, uid=i + 1)
        rec = RawEmail(
            email_id=email_id_for(f"{GATEWAY_ID}-{tag}", source), gateway_id=GATEWAY_ID,
            gateway=GatewaySnapshot(address=GATEWAY, department_id=department_id),
            source=source, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
            raw_b64=base64.b64encode(data).decode(),
        )  # fmt: skip
        raw.append((GATEWAY_ID.encode(), rec.model_dump_json().encode()))
        head, _, body = data.partition(b"\n\n")
        ticket_id = new_ticket_id()  # the router's form (a column of 16)
        content = MailContent(
            from_address=CLIENT, subject=f"request {tag}{i}",
            message_id=f"<req-{tag}{i}@example.org>", text=body.decode(),
            to_addresses=(GATEWAY,),
        )  # fmt: skip
        cmd = OpenTicket(
            email_id=rec.email_id, gateway_id=GATEWAY_ID, ticket_id=ticket_id,
            client_id=client_id, department_id=department_id, content=content,
        )  # fmt: skip
        outcome = Outcome(
            email_id=rec.email_id, gateway_id=GATEWAY_ID, decision=Decision.TICKET_OPENED,
            rule="client", ticket_id=ticket_id, client_id=client_id,
        )  # fmt: skip
        outputs.append(("ticket_commands", str(client_id).encode(), cmd.model_dump_json().encode()))
        outputs.append(("outcomes", rec.email_id.encode(), outcome.model_dump_json().encode()))
    return Feed(raw, outputs)


class Feeder(threading.Thread):
    """Sends records at `rate` per second (0: at once); `sent_at[i]` is when the i-th went."""

    def __init__(
        self, producer: KafkaProducer, records: list[tuple[str, bytes, bytes]], rate: float
    ) -> None:
        super().__init__(daemon=True)
        self.producer, self.records, self.rate = producer, records, rate
        self.sent_at: list[float] = []

    def run(self) -> None:
        start = time.monotonic()
        chunk = 25
        for i in range(0, len(self.records), chunk):
            if self.rate:
                delay = start + i / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            for topic, key, value in self.records[i : i + chunk]:
                self.producer.send(topic, key=key, value=value)
            self.producer.flush()
            now = time.monotonic()
            self.sent_at.extend([now] * len(self.records[i : i + chunk]))


@dataclass
class Run:
    cpu_tickets: float  # store CPU s: feed start -> last ticket row
    cpu_done: float  # ... -> mail log complete and outbox relayed
    tickets_s: float
    done_s: float
    ticket_lag_s: float  # the longest a fed command waited for its ticket row (sampled)
    log_lag_s: float  # the longest a fed raw mail waited for its mail log row (sampled)


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of the store so far, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        found[task.name] = (int(fields[11]) + int(fields[12])) / tick
    return found


def thread_report(pid: int, before: dict[str, float]) -> str:
    """Each thread's CPU in the window, named by py-spy's dump (its thread ids are the OS's)."""
    spy = subprocess.run(
        [str(Path(sys.executable).parent / "py-spy"), "dump", "-p", str(pid)],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    names = dict(re.findall(r'Thread (\d+) \(\w+\): "(.*?)"', spy))
    first = dict(re.findall(r'Thread (\d+) \(\w+\): ".*?"\n(?:.*\n)*?\s+(\S+) \(', spy))
    now = thread_cpu(pid)
    used = {tid: now[tid] - before.get(tid, 0.0) for tid in now}
    return "store threads, CPU s in the window:\n" + "\n".join(
        f"  {tid} {used[tid]:5.2f}  {names.get(tid, '?')} {first.get(tid, '')}"
        for tid in sorted(used, key=lambda t: -used[t])
    )


def _lag(sent_at: list[float], count: int, now: float) -> float:
    """How long the oldest record not yet applied has waited (count = applied so far)."""
    return now - sent_at[count] if count < len(sent_at) else 0.0


def run_once(args: argparse.Namespace, bootstrap: str, database_url: str, work: Path) -> Run:
    settings = isolated_settings(bootstrap, database_url, work, "storebench-", args.partitions)
    ensure_topics(bootstrap, settings)
    upgrade(database_url)
    pipe = Pipeline(settings=settings, env=settings_env(settings), workdir=work)
    db = Database(database_url)

    def cli(*a: str) -> int:
        res = pipe.run(*a)
        found = re.search(rb"(\d+):", res.stdout)
        if res.returncode or found is None:
            raise SystemExit(f"supportdesk {' '.join(a)}: {res.stdout!r} {res.stderr!r}")
        return int(found[1])

    def count(what: object) -> int:
        with db.transaction() as s:
            return s.scalar(select(func.count()).select_from(what)) or 0  # type: ignore[arg-type]

    def pending() -> int:
        with db.transaction() as s:
            q = select(func.count()).where(OutboxEvent.published_at.is_(None))
            return s.scalar(q) or 0

    try:
        dep = cli("department", "add", "Technical support")
        client = cli("client", "add", "Client", "--email", CLIENT)
        feed = build_feed(args.mails, args.size, client, dep)
        proc = pipe.start("store")
        for group in (settings.store_group_id, f"{settings.store_group_id}-operations"):
            wait_for(lambda g=group: group_stable(bootstrap, g), 120, f"group {group}", pipe)
        wait_for(lambda: pending() == 0, 60, "the directory relayed", pipe)
        time.sleep(1.0)
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=512 * 1024,
            max_request_size=4 * 1024 * 1024,
        )  # fmt: skip
        topics = settings.topics
        raw_feed = Feeder(producer, [(topics.raw, k, v) for k, v in feed.raw], args.raw_rate)
        out_feed = Feeder(
            producer,
            [(getattr(topics, f), k, v) for f, k, v in feed.outputs],
            args.rate * 2,  # two records a mail
        )
        profiler = None
        if args.profile:
            out = Path(args.profile) / f"store-{uuid.uuid4().hex[:6]}.txt"
            profiler = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(proc.pid),
                 "-r", "200", "-f", "raw", "-o", str(out), "--nonblocking", "--gil", "--threads"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        threads0 = thread_cpu(proc.pid)
        cpu0, t0 = tree_cpu_seconds(proc.pid), time.monotonic()
        raw_feed.start()
        out_feed.start()
        ticket_lag = log_lag = 0.0
        cpu_tickets = tickets_s = None
        deadline = t0 + args.timeout
        while True:
            now = time.monotonic()
            if now > deadline:
                raise SystemExit(f"timed out; store log:\n{pipe.log('store')}")
            pipe.assert_running()
            if count(DeadLetterRecord):
                raise SystemExit(f"the store dead-lettered records:\n{pipe.log('store')}")
            tickets = count(Ticket)
            logged = count(MailSourceRow)
            now = time.monotonic()
            ticket_lag = max(ticket_lag, _lag(out_feed.sent_at[::2], tickets, now))
            log_lag = max(log_lag, _lag(raw_feed.sent_at, logged, now))
            if cpu_tickets is None and tickets >= args.mails:
                cpu_tickets, tickets_s = tree_cpu_seconds(proc.pid) - cpu0, now - t0
            if tickets >= args.mails and logged >= args.mails and pending() == 0:
                cpu_done, done_s = tree_cpu_seconds(proc.pid) - cpu0, time.monotonic() - t0
                break
            time.sleep(0.1)
        producer.close()
        if args.profile:
            print(thread_report(proc.pid, threads0), flush=True)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(30)
        assert cpu_tickets is not None and tickets_s is not None
        if count(Ticket) != args.mails:
            raise SystemExit(f"{count(Ticket)} tickets for {args.mails} mails")
        return Run(cpu_tickets, cpu_done, tickets_s, done_s, ticket_lag, log_lag)
    finally:
        for name in list(pipe.procs):
            pipe.stop(name)
        db.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mails", type=int, default=int(os.environ.get("BENCH_MAILS", "5000")))
    ap.add_argument("--size", type=int, default=9000)
    ap.add_argument("--rate", type=float, default=500.0, help="router outputs, mails/s")
    ap.add_argument("--raw-rate", type=float, default=1500.0, help="mail.raw, mails/s")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--profile", metavar="DIR")
    args, _ = ap.parse_known_args(sys.argv[1:] if __name__ == "__main__" else [])

    work = Path(tempfile.mkdtemp(prefix="store-bench-"))
    with contextlib.ExitStack() as parts:  # whatever was started is stopped, in reverse
        bootstrap, broker = bench_broker(work)
        if broker is not None:
            parts.callback(broker.stop)
        cluster = None
        if args.database == "postgresql":
            from devtools.postgres import PostgresCluster, create_database, wait_connectable

            cluster = PostgresCluster()
            parts.callback(cluster.stop)
            cluster.start()
            wait_connectable(cluster.url)
        print(f"store bench: {args.mails} mails of ~{args.size} B, {args.database}, mail.raw at "
              f"{args.raw_rate:.0f}/s, router output at {args.rate:.0f} mails/s; "
              f"broker {bootstrap}; work {work}", flush=True)  # fmt: skip
        runs: list[Run] = []
        for i in range(args.runs):
            run_work = work / f"run{i}"
            run_work.mkdir()
            if cluster is not None:
                url = create_database(cluster.url, "storebench")
            else:
                url = f"sqlite:///{run_work / 'supportdesk.db'}"
            r = run_once(args, bootstrap, url, run_work)
            runs.append(r)
            print(f"run {i + 1}: store CPU {r.cpu_tickets:.2f}s to the last ticket "
                  f"({r.tickets_s:.1f}s), {r.cpu_done:.2f}s to all done ({r.done_s:.1f}s); "
                  f"lag: tickets {r.ticket_lag_s:.2f}s, mail log {r.log_lag_s:.2f}s",
                  flush=True)  # fmt: skip

        def med(f: str) -> float:
            return statistics.median(getattr(r, f) for r in runs)

        print(f"median of {len(runs)}: store CPU {med('cpu_tickets'):.2f}s to the last ticket, "
              f"{med('cpu_done'):.2f}s to all done; ticket lag {med('ticket_lag_s'):.2f}s, "
              f"mail log lag {med('log_lag_s'):.2f}s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
