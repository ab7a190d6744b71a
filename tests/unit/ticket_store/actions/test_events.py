from __future__ import annotations

from services.ticket_store.actions import events
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_entries_carry_what_the_router_and_fetchers_read(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow, "Sales", per_incident=True, insufficient_notice="Top up.")
    alice = builders.client(uow)
    entry = events.department_entry(dep)
    assert (entry.department_id, entry.per_incident, entry.insufficient_notice) == (
        dep.id,
        True,
        "Top up.",
    )
    assert events.client_entry(alice, "alice@example.org").name == "Alice"


def test_every_event_gets_its_own_id(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    first = events.status_changed(ticket, "new", "closed")
    second = events.status_changed(ticket, "new", "closed")
    assert first.event_id != second.event_id and len(first.event_id) == 32
    added = events.message_added(ticket, ticket.messages[0])
    assert (added.ticket_id, added.client_id) == (ticket.id, ticket.client_id)
