"""The store applies a poll's records in one transaction: a bad record is set aside alone,
and a database outage is waited out, never turned into dead letters or duplicates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import func, select

from devtools.postgres import PostgresCluster, create_database, wait_connectable
from schemas import codec
from schemas.events import DeadLetter, MailContent, OpenTicket
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import Ticket
from tests.fixtures.parts import starting
from tests.fixtures.pipeline import Pipeline, wait_until


def _command(i: int, client_id: int, dep_id: int, tag: str = "") -> OpenTicket:
    return OpenTicket(
        email_id=f"email-{tag}{i:05d}",
        gateway_id="gw",
        ticket_id=f"T{tag}{i:08d}"[:16],
        client_id=client_id,
        department_id=dep_id,
        content=MailContent(from_address="alice@example.org", subject=f"#{i}", text="hi"),
    )


def _setup(db: Database) -> tuple[int, int]:
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        return dep.id, client.id


def _send(pipeline: Pipeline, commands: list[OpenTicket]) -> None:
    producer = KafkaProducer(bootstrap_servers=pipeline.settings.kafka_bootstrap, acks="all")
    for cmd in commands:
        producer.send(
            pipeline.settings.topics.ticket_commands,
            key=str(cmd.client_id).encode(),
            value=codec.dumps(cmd),
        )
    producer.flush()
    producer.close()


def _tickets(db: Database) -> tuple[int, int]:
    """(tickets, distinct emails they came from); (-1, -1) while the database is down."""
    try:
        with db.transaction() as s:
            return (
                s.scalar(select(func.count()).select_from(Ticket)) or 0,
                s.scalar(select(func.count(func.distinct(Ticket.source_email_id)))) or 0,
            )
    except Exception:  # the outage test polls through the outage
        return (-1, -1)


def _dead_letters(pipeline: Pipeline, wait_s: float) -> list[DeadLetter]:
    """Everything on mail.dead, reading until nothing new came for `wait_s`."""
    consumer = KafkaConsumer(
        pipeline.settings.topics.dead,
        bootstrap_servers=pipeline.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(wait_s * 1000),
    )
    try:
        return [codec.loads(DeadLetter, r.value) for r in consumer]
    finally:
        consumer.close()


@pytest.fixture
def pipeline_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, the session's PostgreSQL, or (outage test) a PostgreSQL of the test's own."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if kind == "postgresql":
        return str(request.getfixturevalue("postgres_database_url"))
    return str(request.getfixturevalue("outage_database_url"))


@pytest.mark.parametrize("pipeline_database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_poison_record_mid_batch_is_dead_lettered_alone(pipeline: Pipeline) -> None:
    db = Database(pipeline.settings.database_url, topics=pipeline.settings.topics)
    dep, client = _setup(db)
    commands = [_command(i, client, dep) for i in range(201)]
    # Valid JSON, a valid event: only the database refuses it (no such department).
    poison = commands[100] = _command(100, client, dep + 1000)
    _send(pipeline, commands)  # all on the topic before the store starts: one poll takes them
    pipeline.start("store")
    wait_until(lambda: _tickets(db)[0] == 200, 60, "the 200 good tickets")
    letters = _dead_letters(pipeline, wait_s=5)
    assert [letter.email_id for letter in letters] == [poison.email_id]
    assert letters[0].stage == f"store:{pipeline.settings.topics.ticket_commands}"
    assert "IntegrityError" in letters[0].reason
    with db.transaction() as s:
        assert s.scalar(select(Ticket).where(Ticket.source_email_id == poison.email_id)) is None
    assert _tickets(db) == (200, 200)
    pipeline.assert_running()
    db.dispose()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster of this test's own: the test stops and restarts its server."""
    with starting("PostgreSQL"):
        cluster = PostgresCluster()
        cluster.start()
        wait_connectable(cluster.url)
    yield cluster
    cluster.stop()


@pytest.fixture
def outage_database_url(own_postgres: PostgresCluster) -> str:
    return create_database(own_postgres.url, "outage")


@pytest.mark.parametrize("pipeline_database_url", ["own postgresql"], indirect=True)
def test_a_database_outage_is_retried_not_dead_lettered(
    pipeline: Pipeline, own_postgres: PostgresCluster
) -> None:
    db = Database(pipeline.settings.database_url, topics=pipeline.settings.topics)
    dep, client = _setup(db)
    first = [_command(i, client, dep, "a") for i in range(100)]
    second = [_command(i, client, dep, "b") for i in range(100)]
    pipeline.start("store")
    _send(pipeline, first)
    wait_until(lambda: _tickets(db)[0] == 100, 60, "the first 100 tickets")

    own_postgres.stop_server()
    _send(pipeline, second + first[:50])  # new mail, and a redelivery, during the outage
    wait_until(lambda: "database unavailable" in pipeline.log("store"), 30, "the store to notice")
    time.sleep(3)  # a few retries with backoff
    pipeline.assert_running()
    own_postgres.start_server()

    wait_until(lambda: _tickets(db)[0] == 200, 90, "all 200 tickets after the outage")
    assert _dead_letters(pipeline, wait_s=5) == []
    assert _tickets(db) == (200, 200)
    pipeline.assert_running()
    db.dispose()
