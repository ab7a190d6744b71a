"""Router throughput: mail.raw prefilled with realistic mails -> all outcomes written.

Prints the router's rate (mails/s, one worker in a subprocess) next to the standard
library's parse rate for the same mails measured in the same run
(``BytesParser(policy=policy.default)``, the parser the router uses), and their ratio.

The router's clock runs from the moment its route agent takes its first mail (the
worker logs the wall clock and its process CPU then, `services.router.app.FIRST_TAKE`)
to the broker timestamp of the last outcome; its CPU seconds are taken over the same
window. Start-up, table recovery and the first rebalance are before it and reported
apart. (Timed from the first outcome instead, the window missed a varying share of
the work: tickets' outcomes come from the ledger agent, whose records are fetched only
after the first fetch of mail.raw, up to thousands of mails, has been routed; the same
5,000 mails measured 1.6 and 4.5 CPU s in one e2e run.)

    .venv/bin/python bench/router_bench.py [--mails 10000] [--bootstrap HOST:PORT]

Without --bootstrap a throw-away single-node broker is started (supportdesk.broker).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

from bench import replay_dry  # noqa: E402
from bench.mail_corpus import CLIENTS, build_mails  # noqa: E402
from kernel.blobs import BlobStore  # noqa: E402
from schemas.events import (  # noqa: E402
    ClientEntry,
    DepartmentEntry,
    GatewaySnapshot,
    IncidentsGranted,
    MailSource,
    RawEmail,
    email_id_for,
)

TOPIC_FIELDS = (
    "raw", "outcomes", "ticket_commands", "incoming", "outbound", "ticket_events",
    "clients", "gateways", "departments", "fetcher_state", "incidents", "dead",
    "ticket_requests",
)  # fmt: skip


def parse_rate(mails: list[bytes], pol=policy.default) -> tuple[float, float]:
    """(mails per wall second, mails per CPU second) of the stdlib parser."""
    parser = BytesParser(policy=pol)
    t0, c0 = time.perf_counter(), time.process_time()
    for data in mails:
        parser.parsebytes(data)
    return len(mails) / (time.perf_counter() - t0), len(mails) / (time.process_time() - c0)


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process so far (Linux /proc), 0 when unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class RouterRun:
    """One router worker's pass over a prefilled mail.raw."""

    outcomes: dict[str, str]  # email id -> decision
    span_s: float  # the route agent taking its first mail -> the last outcome's timestamp
    wall_s: float  # from process start to the last outcome read
    cpu_s: float  # router CPU seconds in the span
    startup_s: float = 0.0  # process start -> the first mail taken (not in the span)
    outcome_span_s: float = 0.0  # first -> last outcome (broker timestamps), for comparison

    @property
    def rate(self) -> float:
        return len(self.outcomes) / max(self.span_s, 1e-6)

    def decisions(self) -> str:
        counts: dict[str, int] = {}
        for d in self.outcomes.values():
            counts[d] = counts.get(d, 0) + 1
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def run_router(
    bootstrap: str,
    topics: dict[str, str],
    ids: set[str],
    blob_dir: Path,
    work: Path,
    *,
    partitions: int = 4,
    timeout: float = 900.0,
    profile: str | None = None,
    app_id: str | None = None,
) -> RouterRun:
    """Run one router worker (a subprocess) until every email in `ids` has its outcome.

    `topics` maps Topics field names to topic names (mail.raw prefilled, the
    directory topics filled, the output topics fresh); the router gets a fresh
    app id, so it starts with empty tables. Returns what it managed within `timeout`.
    """
    run_id = uuid.uuid4().hex[:8]
    app_id = app_id or f"bench-router-{run_id}"  # its own topics: the router makes them
    env = dict(os.environ)
    env.update({f"SUPPORTDESK_TOPICS__{f.upper()}": t for f, t in topics.items()})
    env.update({
        "SUPPORTDESK_KAFKA_BOOTSTRAP": bootstrap,
        "SUPPORTDESK_ROUTER_APP_ID": app_id,
        "SUPPORTDESK_TOPIC_PARTITIONS": str(partitions),
        "SUPPORTDESK_BLOB_DIR": str(blob_dir),
        "PYTHONPATH": str(ROOT),
    })  # fmt: skip
    log = open(work / f"router-{run_id}.log", "wb")  # noqa: SIM115
    t_start = time.time()
    proc = subprocess.Popen(
        [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else []),
         "-m", "services.router"], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    consumer = KafkaConsumer(
        topics["outcomes"], bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None, consumer_timeout_ms=1000,
    )  # fmt: skip
    seen: dict[str, str] = {}
    first_ts = last_ts = None
    cpu_last = 0.0
    deadline = time.time() + timeout
    try:
        while len(seen) < len(ids) and time.time() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for rec in records:
                    ts = rec.timestamp / 1000
                    first_ts = ts if first_ts is None else min(first_ts, ts)
                    last_ts = ts if last_ts is None else max(last_ts, ts)
                    seen[rec.key.decode()] = json.loads(rec.value)["decision"]
            if len(seen) >= len(ids):
                cpu_last = cpu_seconds(proc.pid)  # before the idle worker adds its timers'
            elif proc.poll() is not None:
                raise SystemExit(f"router exited with {proc.returncode}; log: {log.name}")
    finally:
        consumer.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    wall = time.time() - t_start
    outcome_span = (last_ts - first_ts) if first_ts is not None and last_ts is not None else 0.0
    taken = first_take(Path(log.name))
    if taken is None or last_ts is None:  # no mail taken (or a router without the line)
        return RouterRun(seen, outcome_span, wall, 0.0, outcome_span=outcome_span)
    t_taken, cpu_taken = taken
    return RouterRun(
        seen, last_ts - t_taken, wall, max(cpu_last - cpu_taken, 0.0),
        startup_s=t_taken - t_start, outcome_span_s=outcome_span,
    )  # fmt: skip


_FIRST_TAKE = re.compile(rb"first mails taken at ([0-9.]+), process cpu ([0-9.]+)s")


def first_take(log_path: Path) -> tuple[float, float] | None:
    """(wall clock, process CPU seconds) when the worker's route agent took its first mail."""
    match = _FIRST_TAKE.search(log_path.read_bytes())
    return (float(match[1]), float(match[2])) if match else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mails", type=int, default=10_000)
    ap.add_argument("--bootstrap", default=os.environ.get("SUPPORTDESK_BENCH_BOOTSTRAP", ""))
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--profile", metavar="FILE", help="run the router under cProfile into FILE")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="router-bench-"))
    broker = None
    bootstrap = args.bootstrap
    if not bootstrap:
        from supportdesk.broker import LocalBroker, free_port

        broker = LocalBroker(work / "kafka", port=free_port(), controller_port=free_port())
        broker.start()
        broker.wait_ready()
        bootstrap = broker.bootstrap
    print(f"broker {bootstrap}; building {args.mails} mails ...", flush=True)
    mails = build_mails(args.mails)
    sizes = sorted(len(m[3]) for m in mails)
    print(
        f"mail sizes: median {sizes[len(sizes) // 2]} B, p95 {sizes[int(len(sizes) * 0.95)]} B, "
        f"total {sum(sizes) / 1e6:.1f} MB",
        flush=True,
    )
    stdlib, stdlib_cpu = parse_rate([m[3] for m in mails])
    compat, compat_cpu = parse_rate([m[3] for m in mails], policy.compat32)

    run_id = uuid.uuid4().hex[:8]
    topics = {f: f"bench{run_id}.{f}" for f in TOPIC_FIELDS}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(t, args.partitions, 1) for t in topics.values()])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024,
        max_request_size=2 * 1024 * 1024,
    )  # fmt: skip
    for c in range(CLIENTS):
        email = f"client{c}@example.com"
        entry = ClientEntry(email=email, client_id=1000 + c, name=f"Client {c}")
        producer.send(topics["clients"], key=email.encode(), value=entry.model_dump_json().encode())
        grant = IncidentsGranted(grant_id=f"g{c}", client_id=1000 + c, amount=20)
        producer.send(
            topics["incidents"], key=str(1000 + c).encode(), value=grant.model_dump_json().encode()
        )
    for dept, paid in ((1, False), (2, True)):
        d = DepartmentEntry(department_id=dept, name=f"d{dept}", per_incident=paid)
        producer.send(
            topics["departments"], key=str(dept).encode(), value=d.model_dump_json().encode()
        )
    blobs = BlobStore(work / "blobs")
    ids = set()
    for i, (gw, addr, dept, data) in enumerate(mails):
        source = MailSource(protocol="maildir", filename=f"bench-{run_id}-{i}")
        raw = RawEmail(
            email_id=email_id_for(gw, source), gateway_id=gw,
            gateway=GatewaySnapshot(address=addr, department_id=dept), source=source,
            size=len(data), sha256=hashlib.sha256(data).hexdigest(),
            raw_b64=base64.b64encode(data).decode(),
        )  # fmt: skip
        ids.add(raw.email_id)
        producer.send(topics["raw"], key=gw.encode(), value=raw.model_dump_json().encode())
    producer.flush(120)
    producer.close()
    print(f"mail.raw prefilled; starting the router ({args.partitions} partitions) ...", flush=True)

    app_id = f"bench-router-{uuid.uuid4().hex[:8]}"
    replay = None
    try:
        run = run_router(
            bootstrap, topics, ids, blobs.root, work,
            partitions=args.partitions, timeout=args.timeout, profile=args.profile, app_id=app_id,
        )  # fmt: skip
        if len(run.outcomes) == len(ids):  # the same mails, their outcomes recorded
            print("router done; replay dry run over the same mails ...", flush=True)
            replay = replay_dry.measure(bootstrap, topics, app_id, blobs.root)
    finally:
        if broker is not None:
            broker.stop()
    # Measured again after the router, same mails: the machine's speed drifts
    # (shared, noisy), so the ratio is taken against the mean of both.
    stdlib_after, stdlib_cpu_after = parse_rate([m[3] for m in mails])
    if len(run.outcomes) < len(ids):
        print(f"only {len(run.outcomes)}/{len(ids)} outcomes within {args.timeout}s", flush=True)
        return 1
    print(f"outcomes: {len(run.outcomes)} ({run.decisions()})")
    print(f"router:        {run.rate:8.0f} mails/s  (first mail taken -> last outcome "
          f"{run.span_s:.1f}s, {run.cpu_s:.1f} CPU s; worker start before it {run.startup_s:.1f}s; "
          f"first -> last outcome {run.outcome_span_s:.1f}s)")  # fmt: skip
    parse_mean = (stdlib + stdlib_after) / 2
    print(f"stdlib parse:  {parse_mean:8.0f} mails/s  (BytesParser(policy=default), same mails; "
          f"{stdlib:.0f} before the router ran, {stdlib_after:.0f} after)")  # fmt: skip
    print(f"ratio router/parse: {run.rate / parse_mean:.2f}")
    if run.cpu_s > 0:
        router_cpu = len(ids) / run.cpu_s
        parse_cpu = (stdlib_cpu + stdlib_cpu_after) / 2
        print(f"per CPU second (load-independent): router {router_cpu:.0f} mails/s, "
              f"stdlib parse policy=default {parse_cpu:.0f}, compat32 {compat_cpu:.0f}; "
              f"ratio router/parse(default) {router_cpu / parse_cpu:.2f}")  # fmt: skip
    print(f"(stdlib compat32 parse, wall: {compat:.0f} mails/s)")
    if replay is not None:
        cpu_rate = len(ids) / run.cpu_s if run.cpu_s > 0 else 0.0
        print(replay_dry.line(replay, run.rate, cpu_rate))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
