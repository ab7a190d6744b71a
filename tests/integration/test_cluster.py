"""A 3-node KRaft cluster (issue 12, item 6): the leaders of `mail.raw`, of
`tickets.commands` and of `tickets.events` are killed in turn with mail flowing, and the
pipeline goes on with the remaining brokers: one ticket per mail, none lost, none
doubled; every ticket's events on tickets.events, repeats (at least once) only of the
same event.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from sqlalchemy import func, select

from bench.chaos.ticket_events import check_ticket_events, read_topic
from devtools.mail import mail
from devtools.pipeline import Pipeline, isolated_settings, settings_env, wait_until
from kernel.crypto import encrypt
from kernel.directory import read_gateways
from kernel.topics import ensure_topics
from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from services.ticket_store.metrics import outbox_backlog
from services.ticket_store.models import MailOutcome, Ticket
from supportdesk.broker.cluster import LocalCluster
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.parts import starting

MAILS = 300

# Three brokers and a pipeline: alone on the machine (make test's serial pass).
pytestmark = pytest.mark.serial


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with starting("Kafka cluster"):
        cluster = LocalCluster(tmp_path / "cluster", size=3)
        took = cluster.start()
    print(f"3-node cluster ready in {took:.1f}s at {cluster.bootstrap}")
    yield cluster
    # SIGKILL, not a controlled shutdown: the data is thrown away, and with a node dead the
    # last one stopping has no controller quorum and waits out stop()'s 30 s anyway.
    for node in cluster.nodes:
        node.kill()
    cluster.stop()


def leader(bootstrap: str, topic: str, partition: int = 0) -> int:
    """The partition's leader; retried while the admin client still asks a dead node."""

    def ask() -> int | None:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        except KafkaError:
            return None
        try:
            [described] = admin.describe_topics([topic])
            [p] = [p for p in described["partitions"] if p["partition_index"] == partition]
            assert len(p["replica_nodes"]) == 3, p  # replication factor 3 from the settings
            return int(p["leader_id"]) if p["leader_id"] >= 0 else None
        except KafkaError:
            return None
        finally:
            admin.close()

    return int(wait_until(ask, 60, f"the leader of {topic}[{partition}]", step=1.0))


def test_killing_partition_leaders_loses_and_doubles_nothing(
    cluster: LocalCluster, dovecot: DovecotServer, postgres_database_url: str, tmp_path: Path
) -> None:
    settings = isolated_settings(
        cluster.bootstrap, postgres_database_url, tmp_path, "cl-", 2,
        topic_replication_factor=3, topic_min_insync_replicas=2, ca_file=str(dovecot.ca_path),
    )  # fmt: skip
    env = {
        **settings_env(settings),
        "SUPPORTDESK_TOPIC_REPLICATION_FACTOR": "3",
        "SUPPORTDESK_TOPIC_MIN_INSYNC_REPLICAS": "2",
    }
    pipeline = Pipeline(settings=settings, env=env, workdir=tmp_path)
    ensure_topics(cluster.bootstrap, settings)
    upgrade(settings.database_url)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Client", ["client@example.org"])
        gateway_id = actions.gateways.add_gateway(
            uow, name="support", type="external", protocol="imap", host="127.0.0.1",
            port=dovecot.imaps_port, security="tls", verify_tls=True, username=DEFAULT_USER,
            password_encrypted=encrypt(settings, DEFAULT_PASSWORD),
            address="support@company.net", department_id=dep.id, poll_interval_s=10,
        ).id  # fmt: skip

    def tickets() -> int:
        with db.transaction() as s:
            return s.scalar(select(func.count()).select_from(Ticket)) or 0

    try:
        pipeline.start("store")
        pipeline.start("router")
        wait_until(
            lambda: gateway_id in read_gateways(cluster.bootstrap, settings.topics.gateways),
            90, "the gateway on directory.gateways",
        )  # fmt: skip
        batch = MAILS // 4

        def deliver(first: int) -> None:
            dovecot.deliver_many(
                DEFAULT_USER,
                (mail(i, tag="cl-").replace(f"From: client{i}@example.org".encode(),
                                             b"From: client@example.org", 1)
                 for i in range(first, first + batch)),
            )  # fmt: skip

        deliver(0)
        pipeline.start("fetcher")
        wait_until(lambda: tickets() >= 10, 120, "the first tickets", step=0.2)
        raw_leader = leader(cluster.bootstrap, settings.topics.raw)
        cluster.node(raw_leader).kill()
        print(f"killed node {raw_leader}, leader of {settings.topics.raw}[0], at {tickets()}")
        deliver(batch)  # mail goes on arriving while the node is dead
        wait_until(lambda: tickets() >= 2 * batch, 180, "tickets with a node dead", step=0.5)
        cluster.node(raw_leader).start()  # one node down at a time: min.insync.replicas=2
        cluster.node(raw_leader).wait_ready(90)

        commands_leader = leader(cluster.bootstrap, settings.topics.ticket_commands)
        cluster.node(commands_leader).kill()
        print(f"killed node {commands_leader}, leader of tickets.commands[0], at {tickets()}")
        deliver(2 * batch)  # the router writes its commands through the new leader
        wait_until(lambda: tickets() >= 3 * batch, 180, "tickets with a node dead", step=0.5)
        cluster.node(commands_leader).start()
        cluster.node(commands_leader).wait_ready(90)

        events_leader = leader(cluster.bootstrap, settings.topics.ticket_events)
        deliver(3 * batch)
        # The first tickets of the batch just committed: the relay is publishing their events
        # (it gathers for 0.2 s), and the rest of the batch's go through the new leader.
        wait_until(lambda: tickets() > 3 * batch, 120, "the last batch's tickets", step=0.05)
        cluster.node(events_leader).kill()
        print(f"killed node {events_leader}, leader of tickets.events[0], at {tickets()} "
              f"tickets, {outbox_backlog(db)} outbox rows unpublished")  # fmt: skip
        wait_until(lambda: tickets() >= MAILS, 240, f"{MAILS} tickets", step=1.0)
        pipeline.assert_running()
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == MAILS
            distinct = s.scalar(select(func.count(func.distinct(Ticket.source_email_id))))
            assert distinct == MAILS
            wait_until(
                lambda: (s.scalar(select(func.count()).select_from(MailOutcome)) or 0) >= MAILS,
                60, "an outcome per mail",
            )  # fmt: skip
            assert s.scalar(select(func.count()).select_from(MailOutcome)) == MAILS
        assert all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values())
        assert_events_published(db, settings.kafka_bootstrap, settings.topics.ticket_events)
    finally:
        for name in list(pipeline.procs):
            pipeline.stop(name)
        db.dispose()


def assert_events_published(db: Database, bootstrap: str, topic: str) -> None:
    """Once the relay has drained the outbox: each ticket's ticket_opened and message_added
    (the store opens a mailed ticket with both, sequences 1 and 2) on the topic, none
    lost; repeats of one event allowed and printed, two events for one sequence not."""

    wait_until(lambda: outbox_backlog(db) == 0, 120, "the relay to publish every row", step=0.5)
    with db.transaction() as s:
        numbered = dict(s.execute(select(Ticket.id, Ticket.event_sequence)).tuples().all())
    assert len(numbered) == MAILS and set(numbered.values()) == {2}, set(numbered.values())
    verdict = check_ticket_events(numbered, read_topic(bootstrap, topic))
    print(verdict.line())
    assert verdict.failures == []
    opened_then_added = {1: "ticket_opened", 2: "message_added"}
    assert verdict.types == {ticket: opened_then_added for ticket in numbered}
    assert verdict.events == 2 * MAILS
