"""Cc kept, through the real broker, router, store and mailer (SQLite, aiosmtpd sink).

The client writes To the gateway and a colleague, Cc a second gateway and Bob; Bob's
reply by ticket tag joins the ticket as Bob; a stranger's does not; Bob's new mail
follows the client rule (unknown -> Incoming emails). John's reply-all reaches the
client, the colleague and Bob, and never a gateway (RCPT TO checked at the sink).
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer
from sqlalchemy import select

from kernel.directory import read_gateways
from kernel.topics import ensure_topics
from schemas import codec
from services.ticket_store import actions, auth
from services.ticket_store.db import Database
from services.ticket_store.http import create_app
from services.ticket_store.metrics import outbox_backlog
from services.ticket_store.models import IncomingEmail, MailOutcome, Message, Ticket
from tests.fixtures.pipeline import Pipeline, settings_env, wait_until
from tests.fixtures.smtp import SmtpSink
from tests.integration.router.harness import raw_email

pytestmark = pytest.mark.integration


def _mail(frm: str, subject: str, mid: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = headers.pop("to", "support@company.net")
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    msg.set_content(f"{subject} - text")
    return bytes(msg)


def test_cc_kept_threaded_and_answered(pipeline: Pipeline, smtp_sink: SmtpSink) -> None:
    settings = pipeline.settings.model_copy(
        update={"smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port}
    )
    pipeline.settings = settings
    pipeline.env.update(settings_env(settings))
    ensure_topics(settings.kafka_bootstrap, settings)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        john = actions.staff.add_staff(uow, "John", "john@company.net", "", department_ids=[dep.id])
        token, _ = auth.issue(uow.session, staff=john, kind="bearer")
        gateways = {}
        for name, address in (("support", "support@company.net"), ("sales", "sales@company.net")):
            gw = actions.gateways.add_gateway(
                uow, name=name, type="local", protocol="maildir", maildir_path=f"/nowhere/{name}",
                address=address, department_id=dep.id, enabled=False,
            )  # fmt: skip
            gateways[name] = gw.id
        dep_id = dep.id
    for name in ("store", "router", "mailer"):
        pipeline.start(name)
    wait_until(
        lambda: (
            set(gateways.values())
            <= set(read_gateways(settings.kafka_bootstrap, settings.topics.gateways))
        ),
        60,
        "the gateways on directory.gateways",
    )
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")

    def deliver(data: bytes) -> str:
        raw = raw_email(data, gateway_id=gateways["support"], department_id=dep_id)
        producer.send(settings.topics.raw, key=raw.gateway_id.encode(), value=codec.dumps(raw))
        producer.flush()
        return raw.email_id

    def outcome(email_id: str) -> MailOutcome:
        def get() -> MailOutcome | None:
            with db.transaction() as s:
                return s.get(MailOutcome, email_id)

        return wait_until(get, 90, f"the outcome of {email_id}")

    # 1. The client's mail: a ticket whose message keeps To and Cc.
    first = deliver(
        _mail(
            "Alice <alice@example.org>", "VPS down", "<c1@example.org>",
            to="support@company.net, Colleague <colleague@example.org>",
            Cc="Bob Builder <bob@example.com>, sales@company.net",
        )
    )  # fmt: skip
    assert outcome(first).decision == "ticket_opened"
    with db.transaction() as s:
        ticket = s.scalar(select(Ticket))
        assert ticket is not None
        ticket_id, number = ticket.id, ticket.number
        [msg] = ticket.messages
        assert msg.to_addresses == ["support@company.net", "colleague@example.org"]
        assert msg.cc_addresses == ["bob@example.com", "sales@company.net"]

    # The router learns the ticket's Cc list from tickets.events: a reply fetched before
    # the store published the first message would rightly not know Bob yet.
    wait_until(lambda: outbox_backlog(db) == 0, 30, "the ticket's events on tickets.events")

    # 2. Bob (Cc'd) answers by the ticket tag: his message, not Alice's.
    bob = deliver(_mail("Bob Builder <bob@example.com>", f"Re: VPS down [#{ticket_id}]", "<b1@x>"))
    # 3. A stranger with the same tag, and 4. Bob writing anew: Incoming emails.
    eve = deliver(_mail("eve@example.net", f"Re: VPS down [#{ticket_id}]", "<e1@x>"))
    bob_new = deliver(_mail("bob@example.com", "Another matter", "<b2@x>"))
    assert outcome(bob).decision == "message_added"
    assert outcome(eve).decision == outcome(bob_new).decision == "incoming"
    with db.transaction() as s:
        added = s.scalar(select(Message).where(Message.source_email_id == bob))
        assert added is not None and added.ticket.number == number
        assert (added.from_address, added.from_name, added.author_client_id) == (
            "bob@example.com", "Bob Builder", None,
        )  # fmt: skip
        incoming = {i.email_id for i in s.scalars(select(IncomingEmail))}
        assert incoming == {eve, bob_new}

    # 5. The ticket view shows it; John answers everyone (API reply_all) and then Alice only.
    web = TestClient(create_app(settings, db))
    headers = {"Authorization": f"Bearer {token}"}
    view = web.get(f"/api/v1/tickets/{number}", headers=headers).json()
    assert view["cc_addresses"] == ["colleague@example.org", "bob@example.com"]
    assert view["messages"][0]["cc_addresses"] == ["bob@example.com", "sales@company.net"]
    assert view["messages"][1]["author"] == "Bob Builder" and view["messages"][1]["from_cc"]
    for body in ({"text": "Fixed for all.", "reply_all": True}, {"text": "Just you."}):
        r = web.post(f"/api/v1/tickets/{number}/replies", json=body, headers=headers)
        assert r.status_code == 201, r.text
    sent = smtp_sink.wait_for(2, timeout=90)
    by_text = {m.message.get_content().strip(): m for m in sent}
    everyone, alice = by_text["Fixed for all."], by_text["Just you."]
    assert everyone.rcpt_tos == ("alice@example.org", "colleague@example.org", "bob@example.com")
    assert everyone.message["Cc"] == "colleague@example.org, bob@example.com"
    assert everyone.message["From"] == "support@company.net"
    assert alice.rcpt_tos == ("alice@example.org",) and alice.message["Cc"] is None
    pipeline.assert_running()
    producer.close()
    db.dispose()
