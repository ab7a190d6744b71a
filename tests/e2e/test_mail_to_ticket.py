"""The walking skeleton: a client's mail in a real IMAP mailbox becomes one ticket.

Real Dovecot, real Kafka, real PostgreSQL; real fetcher, faust router and
store processes.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from kernel.crypto import encrypt
from services.fetcher.directory import read_gateways
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import MailOutcome, Message, Ticket
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.pipeline import Pipeline, wait_until


@pytest.fixture
def pipeline_database_url(postgres_database_url: str) -> str:
    return postgres_database_url


def _mail(sender: str, to: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@example.org>"
    msg.set_content(body)
    return bytes(msg)


def test_client_mail_becomes_exactly_one_ticket(pipeline: Pipeline, dovecot: DovecotServer) -> None:
    settings = pipeline.settings.model_copy(update={"ca_file": str(dovecot.ca_path)})
    pipeline.settings = settings
    pipeline.env["SUPPORTDESK_CA_FILE"] = str(dovecot.ca_path)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        gw = actions.gateways.add_gateway(
            uow,
            name="support",
            type="external",
            protocol="imap",
            host="127.0.0.1",
            port=dovecot.imaps_port,
            security="tls",
            verify_tls=True,
            username=DEFAULT_USER,
            password_encrypted=encrypt(settings, DEFAULT_PASSWORD),
            address="support@company.NET",
            department_id=dep.id,
            poll_interval_s=10,
        )
        dep_id, client_id, gateway_id = dep.id, client.id, gw.id

    pipeline.start("store")
    pipeline.start("router")
    # The store relays the directory to Kafka (client first, then gateway, in
    # outbox order); the router's read barrier covers everything published
    # before the mail was fetched.
    wait_until(
        lambda: gateway_id in read_gateways(settings.kafka_bootstrap, settings.topics.gateways),
        60,
        "the gateway on directory.gateways",
    )

    dovecot.save(
        DEFAULT_USER,
        _mail(
            "Alice <ALICE@example.org>", "support@company.net", "VPS down", "My VPS does not boot."
        ),
    )
    first = pipeline.run("fetcher", "--once")
    assert first.returncode == 0, first.stdout.decode() + first.stderr.decode()

    def tickets() -> list[Ticket]:
        with db.transaction() as s:
            return list(s.scalars(select(Ticket)))

    found = wait_until(tickets, 90, "the ticket in PostgreSQL")
    assert len(found) == 1
    ticket = found[0]
    assert (ticket.client_id, ticket.department_id, ticket.subject) == (
        client_id,
        dep_id,
        "VPS down",
    )
    assert all("\\Seen" in flags for flags in dovecot.flags(DEFAULT_USER).values())

    # Fetching again takes nothing and adds nothing.
    again = pipeline.run("fetcher", "--once")
    assert again.returncode == 0
    with db.transaction() as s:
        wait_until(lambda: s.get(MailOutcome, ticket.source_email_id), 30, "the outcome")
    pipeline.assert_running()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        assert s.scalar(select(func.count()).select_from(Message)) == 1
        outcome = s.get(MailOutcome, ticket.source_email_id)
        assert outcome is not None and outcome.decision == "ticket_opened"
    db.dispose()
