"""The end-to-end benchmark's process helpers: waits, groups, CLI calls (bench.e2e_bench)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import func, select

from devtools.pipeline import Pipeline
from services.ticket_store.db import Database
from services.ticket_store.models import MailOutcome

if TYPE_CHECKING:
    from devtools.postgres import PostgresCluster


class BenchFailure(RuntimeError):
    """The pipeline did not turn every mail into exactly one ticket."""


def group_stable(bootstrap: str, group_id: str) -> bool:
    """A consumer group with members and a settled assignment."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        info = admin.describe_groups([group_id]).get(group_id) or {}
    except KafkaError:  # no coordinator yet for a group nobody joined: not ready
        return False
    finally:
        admin.close()
    state = info.get("group_state") or info.get("state")
    return state == "Stable" and bool(info.get("members"))


def wait_for(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    pipe: Pipeline | None = None,
    step: float = 0.2,
) -> None:
    """Poll `predicate`; a service that dies meanwhile fails the wait at once, with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if pipe is not None:
            for name, proc in pipe.procs.items():
                if proc.poll() is not None:
                    raise BenchFailure(f"{name} exited ({proc.returncode}):\n{pipe.log(name)}")
        time.sleep(step)
    raise BenchFailure(f"timed out after {timeout:.0f}s waiting for {what}")


def warm_transactions(bootstrap: str) -> None:
    """Have the broker's transaction log exist before the clock starts.

    A fresh broker creates it for the first transactional producer: the fetcher's, seconds
    into the measured window of the first database (seen: 3 s of a 27 s run). A broker in
    service has it; on one that has, this costs one round trip.
    """
    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="bench-warm-up")
    try:
        producer.init_transactions()
    finally:
        producer.close(timeout=10)


def run_cli(pipe: Pipeline, *args: str) -> str:
    res = pipe.run(*args)
    out = res.stdout.decode() + res.stderr.decode()
    if res.returncode != 0:
        raise BenchFailure(f"supportdesk {' '.join(args)} failed: {out}")
    return out


def decisions(db: Database) -> dict[str, int]:
    """Outcomes recorded so far, by decision."""
    with db.transaction() as s:
        rows = s.execute(select(MailOutcome.decision, func.count()).group_by(MailOutcome.decision))
        return {d: n for d, n in rows}


def epoch(moment: datetime) -> float:
    """SQLite gives naive datetimes (stored in UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _postgres() -> tuple[str, PostgresCluster | None]:
    """The server to create the bench database in, and the cluster to stop afterwards."""
    from devtools.postgres import PostgresCluster, wait_connectable

    if os.environ.get("BENCH_POSTGRES_URL"):
        return os.environ["BENCH_POSTGRES_URL"], None
    cluster = PostgresCluster()
    cluster.start()
    wait_connectable(cluster.url)
    return cluster.url, cluster


def postmaster_pid(cluster: PostgresCluster | None) -> int | None:
    if cluster is None:
        return None
    return int((cluster.data_dir / "postmaster.pid").read_text().split()[0])


@dataclass
class PostgresServer:
    """The server the rounds create their databases in (started on first use)."""

    url: str | None = None
    cluster: PostgresCluster | None = None

    def new_database(self) -> str:
        from devtools.postgres import create_database

        if self.url is None:
            self.url, self.cluster = _postgres()
        return create_database(self.url, "bench")
