"""The skipped-records watchdog tells records from transaction markers (issue 12, item 3).

mail.raw is written in Kafka transactions, each closed by a commit marker that
takes an offset but is no record: a consumer's position moves past it. The
watchdog must not take that gap for records faust fetched and never delivered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.structs import TopicPartition

from services.router.monitor import IDLE_BEFORE_RESEEK_S, has_records
from tests.integration.router.harness import RouterEnv, mail, outcomes_by_email, raw_email

pytestmark = pytest.mark.integration


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> Iterator[RouterEnv]:
    e = RouterEnv(kafka_bootstrap, tmp_path, partitions=1)
    yield e
    e.close()


def publish_in_transactions(env: RouterEnv, chunks: list[list[bytes]]) -> None:
    """Like the fetcher: each chunk of mail.raw records in one transaction."""
    tx = KafkaProducer(
        bootstrap_servers=env.bootstrap, acks="all", enable_idempotence=True,
        transactional_id=f"watchdog-{uuid.uuid4().hex}",
    )  # fmt: skip
    try:
        tx.init_transactions()
        for chunk in chunks:
            tx.begin_transaction()
            for value in chunk:
                tx.send(env.topics["raw"], key=b"gw1", value=value)
            tx.commit_transaction()
    finally:
        tx.close()


def test_markers_are_not_records(env: RouterEnv) -> None:
    """Offsets 0-2 and 4-6 are records, 3 and 7 commit markers."""
    publish_in_transactions(env, [[b"a", b"b", b"c"], [b"d", b"e", b"f"]])
    tp = TopicPartition(env.topics["raw"], 0)

    def probe(start: int, end: int) -> bool:
        return asyncio.run(has_records(env.bootstrap, tp, start, end))

    assert probe(3, 4) is False and probe(7, 8) is False  # a marker alone
    assert probe(2, 4) is True and probe(3, 5) is True  # a record before or after it
    assert probe(0, 8) is True


def test_no_false_alarm_when_idle_after_transactions(env: RouterEnv) -> None:
    env.add_client("alice@example.com", 7)
    env.add_department(1, per_incident=False)
    env.flush()
    env.start_router()
    raws = [raw_email(mail()) for _ in range(6)]
    values = [r.model_dump_json().encode() for r in raws]
    publish_in_transactions(env, [values[:3], values[3:]])
    env.read("outcomes", lambda r: len(outcomes_by_email(r)) >= 6, timeout=120)
    # Idle past the watchdog's patience, long enough for it to look at least twice.
    time.sleep(IDLE_BEFORE_RESEEK_S + 2 * 2.0 + 1.0)
    outcomes = env.read_all("outcomes", settle_s=0)
    log = (env.workdir / "router-0.log").read_text(errors="replace")
    assert "holds only markers" in log  # it looked at the gap the commit marker left
    assert "watchdog" not in log and "seeking back" not in log
    assert "Ignoring missing topic" not in log  # its own topics existed before it subscribed
    assert len(outcomes) == 6  # nothing was read twice
    assert {o["email_id"] for _, o in outcomes} == {r.email_id for r in raws}
