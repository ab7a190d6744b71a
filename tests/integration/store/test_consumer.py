"""The store process on the real broker: idempotent, crash-safe, never stalls."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import func, select

from schemas import codec
from schemas.events import DeadLetter, MailContent, OpenTicket
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import Message, Ticket
from tests.fixtures.pipeline import Pipeline, wait_until

N = 4000


def _commands(n: int, client_id: int, dep_id: int) -> list[OpenTicket]:
    return [
        OpenTicket(
            email_id=f"email-{i:05d}",
            gateway_id="gw",
            ticket_id=f"T{i:09d}",
            client_id=client_id,
            department_id=dep_id,
            content=MailContent(from_address="alice@example.org", subject=f"#{i}", text="hi"),
        )
        for i in range(n)
    ]


def _setup(pipeline: Pipeline) -> tuple[Database, int, int]:
    db = Database(pipeline.settings.database_url, topics=pipeline.settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        return db, dep.id, client.id


def _count(db: Database) -> tuple[int, int]:
    with db.transaction() as s:
        return (
            s.scalar(select(func.count()).select_from(Ticket)) or 0,
            s.scalar(select(func.count()).select_from(Message)) or 0,
        )


@pytest.fixture
def pipeline_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, or the session's PostgreSQL (where the store's rows go in by COPY)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("postgres_database_url"))
    return f"sqlite:///{tmp_path / 'supportdesk.db'}"


@pytest.mark.parametrize("pipeline_database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_command_twice_and_a_kill_mid_stream_give_one_row_each(pipeline: Pipeline) -> None:
    db, dep, client = _setup(pipeline)
    topic = pipeline.settings.topics.ticket_commands
    producer = KafkaProducer(bootstrap_servers=pipeline.settings.kafka_bootstrap, acks="all")
    # Enough that the kill lands mid-stream: the store applies hundreds per transaction.
    commands = _commands(N, client, dep)
    for cmd in commands + commands:  # every command delivered twice
        producer.send(topic, key=str(client).encode(), value=codec.dumps(cmd))
    producer.flush()

    pipeline.start("store")
    wait_until(lambda: _count(db)[0] >= 50, 60, "the store to start applying")
    pipeline.stop("store", sig=signal.SIGKILL)  # dies mid-batch: applied but not committed
    killed_at = _count(db)[0]
    assert killed_at < N, "the kill came too late to test anything"

    pipeline.start("store")
    wait_until(lambda: _count(db)[0] == N, 120, f"all {N} tickets")
    time.sleep(2)  # let the second copy of every command arrive and be dropped
    pipeline.assert_running()
    assert _count(db) == (N, N)
    db.dispose()


def test_an_unreadable_command_is_dead_lettered_and_the_partition_goes_on(
    pipeline: Pipeline,
) -> None:
    db, dep, client = _setup(pipeline)
    topics = pipeline.settings.topics
    producer = KafkaProducer(bootstrap_servers=pipeline.settings.kafka_bootstrap, acks="all")
    key = str(client).encode()
    producer.send(topics.ticket_commands, key=b"bad-email", value=b"{not json")
    producer.send(topics.ticket_commands, key=key, value=codec.dumps(_commands(1, client, dep)[0]))
    producer.flush()
    pipeline.start("store")
    wait_until(lambda: _count(db)[0] == 1, 60, "the good command after the bad one")

    consumer = KafkaConsumer(
        topics.dead,
        bootstrap_servers=pipeline.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
    )
    letters = []
    for record in consumer:
        letters.append(codec.loads(DeadLetter, record.value))
        break
    consumer.close()
    assert letters and letters[0].email_id == "bad-email"
    assert "invalid ticket command" in letters[0].reason
    pipeline.assert_running()
    db.dispose()
