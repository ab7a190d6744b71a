"""The support flow end to end on real parts: Kafka, PostgreSQL, an SMTP sink, a local
Maildir gateway and the real fetcher, router, store, and mailer processes.

A client's mail becomes a ticket; John's reply reaches the SMTP sink with
threading headers; the client's answer by mail lands in the same ticket; an
unknown sender's mail waits in Incoming emails until John converts it.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kernel.topics import ensure_topics
from services.fetcher.directory import read_gateways
from services.ticket_store import actions, auth
from services.ticket_store.db import Database
from services.ticket_store.http import create_app
from services.ticket_store.models import IncomingEmail, Message, Ticket
from tests.fixtures.pipeline import Pipeline, settings_env, wait_until
from tests.fixtures.smtp import SmtpSink


@pytest.fixture
def pipeline_database_url(postgres_database_url: str) -> str:
    return postgres_database_url


def _deliver(maildir: Path, name: str, **headers: str) -> None:
    """Drop a mail into the gateway's Maildir, as the local MTA would."""
    body = headers.pop("body")
    msg = EmailMessage()
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    tmp = maildir / "tmp" / name
    tmp.write_bytes(bytes(msg))
    tmp.rename(maildir / "new" / name)


def test_mail_reply_answer_and_incoming(
    pipeline: Pipeline, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = pipeline.settings.model_copy(
        update={
            "smtp_host": smtp_sink.host,
            "smtp_port": smtp_sink.port,
            "message_id_domain": "desk.test",
        }
    )
    pipeline.settings = settings
    pipeline.env.update(settings_env(settings))
    pipeline.env["SUPPORTDESK_MESSAGE_ID_DOMAIN"] = "desk.test"
    ensure_topics(settings.kafka_bootstrap, settings)
    maildir = tmp_path / "support-mailbox"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    db = Database(settings.database_url, topics=settings.topics)
    topics = settings.topics
    with db.unit_of_work() as uow:
        tech = actions.departments.add_department(
            uow, "Technical support", show_in_support_center=True
        )
        actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        john = actions.staff.add_staff(
            uow, "John Smith", "john@company.net", "", department_ids=[tech.id]
        )
        token, _ = auth.issue(uow.session, staff=john, kind="bearer")
        gw = actions.gateways.add_gateway(
            uow,
            name="support",
            type="local",
            protocol="maildir",
            maildir_path=str(maildir),
            address="support@company.net",
            department_id=tech.id,
            poll_interval_s=10,
        )
        gateway_id = gw.id
    john_headers = {"Authorization": f"Bearer {token}"}
    web = TestClient(create_app(settings, db))

    for name in ("store", "router", "mailer"):
        pipeline.start(name)
    wait_until(
        lambda: gateway_id in read_gateways(settings.kafka_bootstrap, topics.gateways),
        60,
        "the gateway on directory.gateways",
    )

    def fetch() -> None:
        done = pipeline.run("fetcher", "--once")
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

    def tickets() -> list[Ticket]:
        with db.transaction() as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.number)))

    # 1. A client's mail becomes a ticket.
    _deliver(
        maildir,
        "m1",
        From="Alice <alice@example.org>",
        To="support@company.net",
        Subject="VPS does not boot",
        Message_ID="<first@example.org>",
        body="My VPS is down.",
    )
    fetch()
    [ticket] = wait_until(tickets, 90, "the ticket")
    assert ticket.subject == "VPS does not boot"

    # 2. John replies in the web; the mail reaches the SMTP sink with threading headers.
    r = web.post(
        f"/api/v1/tickets/{ticket.number}/replies", json={"text": "Rebooted."}, headers=john_headers
    )
    assert r.status_code == 201, r.text
    [sent] = smtp_sink.wait_for(1, timeout=90)
    assert sent.rcpt_tos == ("alice@example.org",)
    assert sent.message["In-Reply-To"] == "<first@example.org>"
    assert sent.message["From"] == "support@company.net"  # the gateway the client wrote to
    assert "<first@example.org>" in sent.message["References"]
    assert f"[#{ticket.id}]" in sent.message["Subject"]
    our_id = sent.message["Message-ID"]
    with db.transaction() as s:
        reply = s.scalar(select(Message).where(Message.direction == "out"))
        assert reply.email_message_id == our_id

    def delivered() -> bool:
        with db.transaction() as s:
            return s.get(Message, reply.id).delivery_status == "sent"

    wait_until(delivered, 60, "the delivery report on the reply")

    # 3. The client's answer (threaded by In-Reply-To, no tag) lands in the same ticket.
    _deliver(
        maildir,
        "m2",
        From="alice@example.org",
        To="support@company.net",
        Subject="Re: VPS does not boot",
        In_Reply_To=our_id,
        References=f"<first@example.org> {our_id}",
        body="Works now, thanks!",
    )
    fetch()

    def thread() -> list[str]:
        with db.transaction() as s:
            msgs = s.scalars(
                select(Message).where(Message.ticket_number == ticket.number).order_by(Message.id)
            )
            return [m.direction for m in msgs]

    wait_until(lambda: thread() == ["in", "out", "in"], 90, "the answer in the same ticket")
    assert len(tickets()) == 1
    assert web.get(f"/api/v1/tickets/{ticket.number}", headers=john_headers).json()["status"] == (
        "in_progress"
    )

    # 4. An unknown sender's mail waits in Incoming emails; John converts it to a ticket.
    _deliver(
        maildir,
        "m3",
        From="Carol <carol@newcomer.example>",
        To="support@company.net",
        Subject="Do you sell domains?",
        Message_ID="<carol@newcomer.example>",
        body="I am not a client yet.",
    )
    fetch()

    def incoming() -> list[int]:
        with db.transaction() as s:
            return list(s.scalars(select(IncomingEmail.id)))

    [incoming_id] = wait_until(incoming, 90, "the incoming email")
    listed = web.get("/api/v1/incoming-emails", headers=john_headers).json()
    assert [x["from_address"] for x in listed] == ["carol@newcomer.example"]
    r = web.post(f"/api/v1/incoming-emails/{incoming_id}/convert", json={}, headers=john_headers)
    assert r.status_code == 201, r.text
    assert r.json()["client_name"] == "Carol" and r.json()["subject"] == "Do you sell domains?"
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2
    pipeline.assert_running()
    db.dispose()
