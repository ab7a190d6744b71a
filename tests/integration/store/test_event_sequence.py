"""The per-ticket sequence of tickets.events on real SQLite and PostgreSQL: concurrent
writers to one ticket get 1, 2, 3 … without gaps or repeats, in the order their
transactions commit (the outbox's order), and a rolled-back change gives its number
back; the consumer's batches number what they open and add (issue 11, item 6)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from kernel.config import Topics
from schemas import codec
from schemas.events import AddMessage, MailContent, OpenTicket
from services.ticket_store import actions
from services.ticket_store.consumer import BatchApplier
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import OutboxEvent, Staff, Ticket

T = Topics()
WRITERS, EACH = 4, 6


class Abandoned(Exception):
    """A request that failed after its change: the transaction rolls back."""


@pytest.fixture
def db(database_url: str):
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _open(client_id: int, dep_id: int, n: int) -> OpenTicket:
    return OpenTicket(
        email_id=f"e-{n}", gateway_id="gw", ticket_id=f"SEQ{n:07d}", client_id=client_id,
        department_id=dep_id,
        content=MailContent(from_address="alice@example.org", subject=f"#{n}", text="help"),
    )  # fmt: skip


def _setup(db: Database) -> tuple[int, int, int]:
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        alice = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        john = actions.staff.add_staff(uow, "John", "john@company.net", "", department_ids=[dep.id])
        return dep.id, alice.id, john.id


def _ticket_events(db: Database, key: str) -> list:
    with db.transaction() as s:
        values = s.scalars(
            select(OutboxEvent.value)
            .where(OutboxEvent.topic == T.ticket_events, OutboxEvent.key == key)
            .order_by(OutboxEvent.id)
        ).all()
    return [codec.loads_ticket_event(v) for v in values]


def test_concurrent_writers_number_one_ticket_without_gaps(db: Database) -> None:
    dep_id, alice_id, john_id = _setup(db)
    with db.unit_of_work(actor="mail") as uow:
        actions.mail_commands.open_ticket_from_mail(uow, _open(alice_id, dep_id, 1))
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                try:
                    with db.unit_of_work(actor=f"staff:{john_id}") as uow:
                        uow.cause = f"request:w{w}-{i}"
                        ticket = uow.session.scalar(select(Ticket).where(Ticket.id == "SEQ0000001"))
                        staff = uow.session.get(Staff, john_id)
                        assert ticket is not None and staff is not None
                        actions.messages.add_note(uow, staff, ticket, f"note w{w}-{i}")
                        if i % 2:
                            toggled = (
                                "awaiting_client" if ticket.status != "awaiting_client" else "new"
                            )
                            actions.tickets.set_status(uow, ticket, toggled)
                        time.sleep(0.005)  # hold the ticket: the other writers queue behind
                        if i % 3 == 2:
                            raise Abandoned
                except Abandoned:
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []

    events = _ticket_events(db, "SEQ0000001")
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    notes = [e for e in events if e.type == "message_added" and e.direction == "note"]
    committed = {f"request:w{w}-{i}" for w in range(WRITERS) for i in range(EACH) if i % 3 != 2}
    assert {e.cause for e in notes} == committed and len(notes) == len(committed)
    assert all(e.actor == f"staff:{john_id}" for e in notes)
    # A status change follows its note in the same transaction: one writer at a time.
    for before, after in zip(events, events[1:], strict=False):
        if after.type == "status_changed":
            assert before.cause == after.cause and before.type == "message_added"
    with db.transaction() as s:
        stored = s.scalar(select(Ticket.event_sequence).where(Ticket.id == "SEQ0000001"))
    assert (
        stored
        == len(events)
        == 2 + len(committed) + len([e for e in events if e.type == "status_changed"])
    )


@dataclass
class _Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def test_the_consumers_batches_number_what_they_open_and_add(db: Database) -> None:
    dep_id, alice_id, _ = _setup(db)
    commands = [_open(alice_id, dep_id, 1), _open(alice_id, dep_id, 2)]
    answer = AddMessage(
        email_id="e-3", gateway_id="gw", ticket_id="SEQ0000002", client_id=alice_id,
        content=MailContent(from_address="alice@example.org", text="more"),
    )  # fmt: skip
    records = [
        _Record(T.ticket_commands, 0, n, b"k", codec.dumps(c))
        for n, c in enumerate([*commands, commands[0], answer])  # a redelivery among them
    ]
    with db.unit_of_work(actor="mail") as uow:
        report = BatchApplier(T).apply(uow, records)
    assert report.dead == []
    first, second = _ticket_events(db, "SEQ0000001"), _ticket_events(db, "SEQ0000002")
    assert [(e.sequence, e.type, e.cause) for e in first] == [
        (1, "ticket_opened", "email:e-1"), (2, "message_added", "email:e-1"),
    ]  # fmt: skip
    assert [(e.sequence, e.type, e.cause) for e in second] == [
        (1, "ticket_opened", "email:e-2"), (2, "message_added", "email:e-2"),
        (3, "message_added", "email:e-3"),
    ]  # fmt: skip
    assert {e.actor for e in first + second} == {"mail"}
