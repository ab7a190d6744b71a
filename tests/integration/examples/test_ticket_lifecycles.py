"""examples/ticket_lifecycles.py, run as a stranger would, against the real broker,
after a ticket went through its life (mail, staff over the API with their request
ids, the mailer's report, the client's answer) and two incoming emails were handled.
A redelivered record and an event type newer than the example are on the topic too."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from kafka import KafkaProducer
from sqlalchemy import select

from kernel.config import Settings
from kernel.topics import ensure_topics
from schemas import codec
from schemas.events import AddMessage, IncomingEmail, MailContent, OpenTicket
from services.ticket_store import actions, auth
from services.ticket_store.db import Database, upgrade
from services.ticket_store.http import create_app
from services.ticket_store.models import IncomingEmail as IncomingRow
from services.ticket_store.models import Message, OutboxEvent
from services.ticket_store.outbox import OutboxRelay
from tests.fixtures.pipeline import unique_topics

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "ticket_lifecycles.py"


def _mail(email_id: str, sender: str, text: str) -> MailContent:
    return MailContent(from_address=sender, subject="VPS down", text=text, message_id=email_id)


def _drive(settings: Settings, db: Database) -> dict[str, object]:
    """A ticket's life and two incoming emails; returns the ids the output names."""
    with db.unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        alice = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        john = actions.staff.add_staff(uow, "John", "john@company.net", "", department_ids=[dep.id])
        token, _ = auth.issue(uow.session, staff=john, kind="bearer")
        ids = {"dep": dep.id, "alice": alice.id, "john": john.id}
    with db.unit_of_work(actor="mail") as uow:
        opened = OpenTicket(
            email_id="e-life-1", gateway_id="gw", ticket_id="LIFEAAAAAA", client_id=ids["alice"],
            department_id=ids["dep"], content=_mail("e-life-1", "alice@example.org", "help"),
        )  # fmt: skip
        ticket = actions.mail_commands.open_ticket_from_mail(uow, opened)
        assert ticket is not None
        number = ticket.number
        for n in (1, 2):
            actions.mail_commands.record_incoming(
                uow,
                IncomingEmail(
                    email_id=f"in-life-{n}", gateway_id="gw", department_id=ids["dep"],
                    content=_mail(f"in-life-{n}", f"stranger{n}@example.org", "hi"),
                ),
            )  # fmt: skip
    api = TestClient(create_app(settings, db))

    def post(path: str, request_id: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request_id}
        r = api.post(f"/api/v1{path}", json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        assert r.headers["x-request-id"] == request_id
        return r.json()

    post(f"/tickets/{number}/assign", "req-assign")
    post(f"/tickets/{number}/replies", "req-reply", {"text": "We are on it."})
    with db.transaction() as s:
        outbound_id = s.scalar(select(Message.outbound_id).where(Message.direction == "out"))
        incoming = dict(s.execute(select(IncomingRow.email_id, IncomingRow.id)).all())
    with db.unit_of_work(actor="mail") as uow:
        assert actions.mail_commands.record_delivery(uow, outbound_id, status="sent") is not None
        answer = AddMessage(
            email_id="e-life-2", gateway_id="gw", ticket_id="LIFEAAAAAA", client_id=ids["alice"],
            content=_mail("e-life-2", "alice@example.org", "thanks"),
        )  # fmt: skip
        assert actions.mail_commands.add_message_from_mail(uow, answer) is not None
    post(f"/tickets/{number}/close", "req-close")
    converted = post(f"/incoming-emails/{incoming['in-life-1']}/convert", "req-convert", {})
    post(f"/incoming-emails/{incoming['in-life-2']}/spam", "req-spam")
    return ids | {"outbound_id": outbound_id, "converted": converted["id"]}


def _publish(settings: Settings, db: Database) -> list[tuple[str, bytes]]:
    relay = OutboxRelay(settings, db)
    try:
        while relay.publish_pending():
            pass
    finally:
        relay.close()
    with db.transaction() as s:
        rows = s.execute(
            select(OutboxEvent.key, OutboxEvent.value)
            .where(OutboxEvent.topic == settings.topics.ticket_events)
            .order_by(OutboxEvent.id)
        ).all()
    return [(k, v) for k, v in rows]


def test_the_example_prints_each_tickets_life(kafka_bootstrap: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        message_id_domain="desk.test",
        topic_partitions=2,
        topics=unique_topics(f"lifecycles-{run}"),
    )
    ensure_topics(kafka_bootstrap, settings)
    upgrade(settings.database_url)
    db = Database(settings.database_url, topics=settings.topics)
    try:
        ids = _drive(settings, db)
        published = _publish(settings, db)
    finally:
        db.dispose()
    topic = settings.topics.ticket_events
    # What a consumer must cope with: a redelivery, and a type newer than it knows.
    key, fifth = next((k, v) for k, v in published if codec.loads_ticket_event(v).sequence == 5)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(topic, key=key.encode(), value=fifth)
    newer = b'{"schema_version":1,"type":"sla_breached","sequence":11,"ticket_id":"LIFEAAAAAA"}'
    producer.send(topic, key=b"LIFEAAAAAA", value=newer)
    producer.flush(30)
    producer.close()

    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--bootstrap", kafka_bootstrap, "--topic", topic,
         "--group", f"lifecycles-{run}", "--idle-exit", "3"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    print(done.stdout)  # shown with -s, and on failure
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    staff, converted = f"staff:{ids['john']}", ids["converted"]

    def line(start: str, contains: str) -> str:
        found = [x for x in lines if x.startswith(start + " ") and contains in x]
        assert len(found) == 1, (start, contains, done.stdout)
        return found[0]

    line("LIFEAAAAAA #1", "ticket_opened by mail [email:e-life-1]: ticket #1 opened: 'VPS down'")
    line("LIFEAAAAAA #2", "message_added by mail [email:e-life-1]: message 1: from the client")
    line("LIFEAAAAAA #3", f"assigned by {staff} [request:req-assign]: assigned to staff")
    line("LIFEAAAAAA #4", f"status_changed by {staff} [request:req-assign]: status new -> in_")
    line("LIFEAAAAAA #5", f"message_added by {staff} [request:req-reply]: message 2: reply to")
    line("LIFEAAAAAA #6", "status in_progress -> awaiting_client")
    line("LIFEAAAAAA #7", f"delivery_result by mail [outbound:{ids['outbound_id']}]: reply 2 sent")
    line("LIFEAAAAAA #8", "message_added by mail [email:e-life-2]: message 3: from the client")
    line("LIFEAAAAAA #9", "status_changed by mail [email:e-life-2]: status awaiting_client -> in_")
    line("LIFEAAAAAA #10", f"by {staff} [request:req-close]: status in_progress -> closed")
    line("LIFEAAAAAA #5", "repeat of an event already seen, skipped")
    line("LIFEAAAAAA #11", "sla_breached: unknown event type, skipped")
    line(f"{converted} #3", f"incoming_converted by {staff} [request:req-convert]: made from")
    line("incoming:in-life-2 #1", f"incoming_discarded by {staff} [request:req-spam]:")
    summary = lines[lines.index("--- 3 lifecycles") + 1 :]
    assert sorted(summary) == sorted([
        "LIFEAAAAAA: 10 events up to #11, status closed: ticket_opened > message_added > "
        "assigned > status_changed > message_added > status_changed > delivery_result > "
        "message_added > status_changed > status_changed",
        f"{converted}: 3 events up to #3, status new: ticket_opened > message_added > "
        "incoming_converted",
        "incoming:in-life-2: 1 events up to #1, status spam: incoming_discarded",
    ])  # fmt: skip
