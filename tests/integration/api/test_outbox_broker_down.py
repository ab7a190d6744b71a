"""The broker stopped while staff reply: the reply is saved at once, and its mail and
events reach Kafka when the broker returns, once each.

A broker of its own (LocalBroker on free ports), so stopping it does not
disturb the session's shared broker.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from sqlalchemy import func, select

from kernel.config import Settings
from kernel.topics import ensure_topics
from schemas import codec
from schemas.events import MailContent, OpenTicket, OutboundEmail
from services.ticket_store import actions, auth
from services.ticket_store.db import Database, upgrade
from services.ticket_store.http import create_app
from services.ticket_store.models import OutboxEvent
from services.ticket_store.outbox import OutboxRelay
from supportdesk.broker import LocalBroker, free_port
from tests.fixtures.parts import starting
from tests.fixtures.pipeline import unique_topics, wait_until


def _drain(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list[bytes]:
    """Everything on the topic: at least `expect` records, then a quiet second for repeats."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                values += [r.value for r in records]
            if len(values) >= expect:
                quiet_until = quiet_until or time.monotonic() + 1.5
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return values


def test_reply_while_the_broker_is_down_goes_out_once_it_returns(
    database_url: str, tmp_path: Path
) -> None:
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    broker = LocalBroker(tmp_path / "kafka", port=port, controller_port=controller)
    with starting("Kafka (own broker)"):
        broker.start()
        broker.wait_ready(120)
    relay_stop = None
    try:
        settings = Settings(
            kafka_bootstrap=broker.bootstrap,
            database_url=database_url,
            message_id_domain="desk.test",
            topic_partitions=1,
            topics=unique_topics("outbox"),
        )
        ensure_topics(broker.bootstrap, settings)
        upgrade(database_url)
        db = Database(database_url, topics=settings.topics)
        topics = settings.topics
        with db.unit_of_work() as uow:
            dep = actions.departments.add_department(uow, "Technical support")
            client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
            john = actions.staff.add_staff(
                uow, "John", "john@company.net", "", department_ids=[dep.id]
            )
            token, _ = auth.issue(uow.session, staff=john, kind="bearer")
            ticket = actions.mail_commands.open_ticket_from_mail(
                uow,
                OpenTicket(
                    email_id="e1",
                    gateway_id="gw",
                    ticket_id="AAAAAAAAAA",
                    client_id=client.id,
                    department_id=dep.id,
                    content=MailContent(
                        from_address="alice@example.org",
                        subject="VPS down",
                        message_id="<c1@example.org>",
                        text="help",
                    ),
                ),
            )
            number = ticket.number
        relay = OutboxRelay(settings, db)
        relay_stop = relay.stopping
        thread = threading.Thread(target=relay.run, kwargs={"idle_wait": 0.1}, daemon=True)
        thread.start()

        def pending() -> int:
            with db.transaction() as s:
                return s.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                )

        wait_until(lambda: pending() == 0, 60, "the set-up events published")

        broker.stop()
        app = TestClient(create_app(settings, db))
        r = app.post(
            f"/api/v1/tickets/{number}/replies",
            json={"text": "We are on it."},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text  # the web does not wait for Kafka
        time.sleep(3)
        assert pending() == 3  # the mail, message added, status changed: kept, not lost

        with starting("Kafka (restart)"):
            broker.start()
            broker.wait_ready(120)
        wait_until(lambda: pending() == 0, 90, "the outbox drained after the restart")

        outbound = [
            codec.loads(OutboundEmail, v) for v in _drain(broker.bootstrap, topics.outbound, 1)
        ]
        assert len(outbound) == 1
        assert outbound[0].text == "We are on it." and outbound[0].in_reply_to == "<c1@example.org>"
        events = [
            codec.loads_ticket_event(v) for v in _drain(broker.bootstrap, topics.ticket_events, 5)
        ]
        replies = [e for e in events if e.type == "message_added" and e.direction == "out"]
        assert len(replies) == 1 and replies[0].email_message_id == outbound[0].message_id
        assert len({e.event_id for e in events}) == len(events)  # nothing published twice
        db.dispose()
    finally:
        if relay_stop is not None:
            relay_stop.set()
        broker.stop()
