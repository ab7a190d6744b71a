from __future__ import annotations

import pytest

from schemas.events import ClientEntry
from services.ticket_store import actions
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.models import TicketStatus
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_converting_makes_a_client_and_their_ticket_without_a_charge(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow, per_incident=True)
    john = builders.staff(uow, dep)
    row = builders.incoming(uow, dep)
    uow.reset()
    ticket = actions.incoming_emails.convert_incoming(uow, john, row)
    assert not ticket.charged and ticket.reply_to == "new.person@example.org"
    assert row.status == "converted" and row.ticket_number == ticket.number
    assert row.handled_by_staff_id == john.id
    [entry] = uow.events(uow.topics.clients)
    assert isinstance(entry, ClientEntry) and entry.name == "New Person"
    assert uow.kinds(uow.topics.ticket_events) == [
        "ticket_opened",
        "message_added",
        "incoming_converted",
    ]
    assert uow.actions() == ["client.add", "incoming.convert"]
    assert uow.audits[-1].details == {"ticket": ticket.number, "client": entry.client_id}


def test_an_email_is_handled_once_and_a_known_sender_is_not_a_new_client(
    uow: FakeUnitOfWork,
) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    builders.client(uow, email="new.person@example.org")
    row = builders.incoming(uow, dep)
    with pytest.raises(Conflict, match="belongs to a client already"):
        actions.incoming_emails.convert_incoming(uow, john, row)
    with pytest.raises(Conflict, match="handled already"):
        actions.incoming_emails.discard_incoming(uow, john, row, "spam")


def test_attaching_to_a_client_can_register_the_address(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    alice = builders.client(uow)
    row = builders.incoming(uow, dep)
    uow.reset()
    ticket = actions.incoming_emails.attach_incoming_to_client(
        uow, john, row, alice.id, register_address=True
    )
    assert ticket.client_id == alice.id
    assert uow.keys(uow.topics.clients) == ["new.person@example.org"]
    assert uow.actions() == ["incoming.convert"]
    with pytest.raises(NotFound):
        actions.incoming_emails.attach_incoming_to_client(uow, john, row, 999)


def test_attaching_to_a_ticket_adds_the_clients_message(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    actions.tickets.change_status(uow, ticket, "awaiting_client")
    row = builders.incoming(uow, dep)
    uow.reset()
    msg = actions.incoming_emails.attach_incoming_to_ticket(uow, john, row, ticket)
    assert msg.source_email_id == "in-1" and msg.author_client_id == ticket.client_id
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert uow.kinds(uow.topics.ticket_events) == [
        "message_added",
        "status_changed",
        "incoming_attached",
    ]
    assert uow.actions() == ["ticket.status", "incoming.attach"]
    assert uow.audits[-1].details == {"ticket": ticket.number}


def test_discarding_keeps_the_row_and_audits_the_choice(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    row = builders.incoming(uow, dep)
    uow.reset()
    with pytest.raises(ValueError):
        actions.incoming_emails.discard_incoming(uow, john, row, "archived")
    actions.incoming_emails.discard_incoming(uow, john, row, "spam")
    assert row.status == "spam"
    assert uow.keys(uow.topics.ticket_events) == ["incoming:in-1"]
    assert uow.kinds(uow.topics.ticket_events) == ["incoming_discarded"]
    assert [t for t, _k, _e in uow.emitted] == [uow.topics.ticket_events]
    assert [(a.action, a.obj, a.obj_id) for a in uow.audits] == [
        ("incoming.spam", "incoming_email", str(row.id))
    ]
