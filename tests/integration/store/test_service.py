"""The store's actions on real SQLite and PostgreSQL, schema from the migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text

from kernel.config import Topics
from schemas import codec
from schemas.events import AddMessage, Decision, MailContent, OpenTicket, Outcome
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import IncomingEmail, MailOutcome, Message, OutboxEvent, Ticket

T = Topics()


@pytest.fixture
def db(database_url: str):
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _setup(db: Database) -> tuple[int, int]:
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(
            uow, "Technical support", show_in_support_center=True
        )
        client = actions.clients.add_client(uow, "Alice", ["Alice@Example.org"])
        return dep.id, client.id


def _open(email_id: str, client_id: int, dep_id: int, ticket_id: str = "AAAAAAAAAA") -> OpenTicket:
    return OpenTicket(
        email_id=email_id,
        gateway_id="gw",
        ticket_id=ticket_id,
        client_id=client_id,
        department_id=dep_id,
        content=MailContent(from_address="alice@example.org", subject="VPS down", text="help"),
    )


def test_migrations_create_every_table(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "tickets",
        "messages",
        "departments",
        "staff",
        "clients",
        "client_emails",
        "gateways",
        "incoming_emails",
        "predefined_replies",
        "outbox",
        "mail_outcomes",
        "incident_grants",
        "audit_log",
        "alembic_version",
    } <= tables


def test_mail_text_is_compressed_with_lz4_on_postgresql(postgres_database_url: str) -> None:
    """Migration 0011: the server's pglz cost three times lz4's CPU for mail bodies
    (SQLite has no such setting)."""
    upgrade(postgres_database_url)
    db = Database(postgres_database_url)
    with db.engine.connect() as conn:
        methods = dict(
            conn.execute(
                text(
                    "SELECT attrelid::regclass || '.' || attname, attcompression "
                    "FROM pg_attribute WHERE attrelid IN "
                    "('messages'::regclass, 'incoming_emails'::regclass, "
                    "'ticket_requests'::regclass) AND attname IN ('text', 'html')"
                )
            ).all()
        )
    assert methods == {
        "messages.text": "l",
        "messages.html": "l",
        "incoming_emails.text": "l",
        "incoming_emails.html": "l",
        "ticket_requests.text": "l",
    }
    db.dispose()


def test_open_ticket_is_idempotent_on_the_email_id(db: Database) -> None:
    dep, client = _setup(db)
    cmd = _open("email-1", client, dep)
    for _ in range(3):
        with db.unit_of_work() as uow:
            actions.mail_commands.open_ticket_from_mail(uow, cmd)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        assert s.scalar(select(func.count()).select_from(Message)) == 1
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == T.ticket_events)).all()
        kinds = [codec.loads_ticket_event(e.value).type for e in events]
        assert kinds == ["ticket_opened", "message_added"]


def test_add_message_threads_into_the_ticket_once(db: Database) -> None:
    dep, client = _setup(db)
    with db.unit_of_work() as uow:
        actions.mail_commands.open_ticket_from_mail(uow, _open("email-1", client, dep))
    reply = AddMessage(
        email_id="email-2",
        gateway_id="gw",
        ticket_id="AAAAAAAAAA",
        client_id=client,
        content=MailContent(from_address="alice@example.org", text="more"),
    )
    for _ in range(2):
        with db.unit_of_work() as uow:
            actions.mail_commands.add_message_from_mail(uow, reply)
    with db.transaction() as s:
        ticket = s.scalar(select(Ticket))
        assert [m.text for m in ticket.messages] == ["help", "more"]


def test_add_message_to_an_unknown_ticket_is_refused(db: Database) -> None:
    _, client = _setup(db)
    reply = AddMessage(
        email_id="e",
        gateway_id="gw",
        ticket_id="ZZZZZZZZZZ",
        client_id=client,
        content=MailContent(from_address="alice@example.org", text="x"),
    )
    with pytest.raises(NotFound), db.unit_of_work() as uow:
        actions.mail_commands.add_message_from_mail(uow, reply)


def test_incoming_and_outcomes_are_recorded_once(db: Database) -> None:
    dep, _ = _setup(db)
    incoming = IncomingEmailEvent(
        email_id="e9",
        gateway_id="gw",
        department_id=dep,
        content=MailContent(from_address="who@unknown.example"),
    )
    outcome = Outcome(email_id="e9", gateway_id="gw", decision=Decision.INCOMING, rule="client")
    for _ in range(2):
        with db.unit_of_work() as uow:
            actions.mail_commands.record_incoming(uow, incoming)
            actions.mail_commands.record_outcome(uow, outcome)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(IncomingEmail)) == 1
        assert s.scalar(select(MailOutcome.decision)) == "incoming"


def test_client_emails_are_normalised_unique_and_published(db: Database) -> None:
    _setup(db)
    with pytest.raises(Conflict), db.unit_of_work() as uow:
        actions.clients.add_client(uow, "Mallory", ["ALICE@example.org"])
    with db.unit_of_work() as uow:
        rows = uow.session.scalars(select(OutboxEvent).where(OutboxEvent.topic == T.clients)).all()
        assert [r.key for r in rows] == ["alice@example.org"]
        actions.clients.remove_client_email(uow, "alice@EXAMPLE.org")
    with db.transaction() as s:
        last = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
        assert last.topic == T.clients and last.value is None  # tombstone


def test_incident_grants_are_idempotent_per_grant_id(db: Database) -> None:
    _, client = _setup(db)
    for _ in range(2):
        with db.unit_of_work() as uow:
            actions.clients.grant_incidents(uow, client, 5, grant_id="g-1")
    with db.transaction() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == T.incidents)).all()
        assert len(rows) == 1


def test_external_grants_join_the_ledger_once_and_echoes_change_nothing(db: Database) -> None:
    from schemas.events import IncidentsGranted
    from services.ticket_store.models import IncidentGrant

    _, client = _setup(db)
    with db.unit_of_work() as uow:
        actions.clients.grant_incidents(uow, client, 2, grant_id="own-1")
    external = IncidentsGranted(grant_id="billing-77", client_id=client, amount=5)
    echo = IncidentsGranted(grant_id="own-1", client_id=client, amount=2)
    web_charge = IncidentsGranted(grant_id="web-ticket:ABCDEFGHIJ", client_id=client, amount=-1)
    stranger = IncidentsGranted(grant_id="billing-78", client_id=client + 999, amount=5)
    for _ in range(2):
        with db.unit_of_work() as uow:
            for grant in (external, echo, web_charge, stranger):
                actions.mail_commands.record_external_grant(uow, grant)
    with db.transaction() as s:
        rows = sorted((g.grant_id, g.amount) for g in s.scalars(select(IncidentGrant)))
        assert rows == [("billing-77", 5), ("own-1", 2)]
        assert incident_balance(s, client) == 7
