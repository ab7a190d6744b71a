from __future__ import annotations

import pytest

from schemas.events import ClientEntry, IncidentsGranted
from services.ticket_store import actions
from services.ticket_store.domain.errors import Conflict, NotFound
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_client_and_each_address_go_to_the_directory(uow: FakeUnitOfWork) -> None:
    client = actions.clients.add_client(uow, "Alice", ["Alice@Example.org", "a2@example.org"])
    assert uow.keys(uow.topics.clients) == ["alice@example.org", "a2@example.org"]
    entries = uow.events(uow.topics.clients)
    assert all(isinstance(e, ClientEntry) and e.client_id == client.id for e in entries)
    assert [(a.action, a.details) for a in uow.audits] == [("client.add", {"name": "Alice"})]


def test_addresses_are_unique_and_must_be_addresses(uow: FakeUnitOfWork) -> None:
    client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
    with pytest.raises(Conflict):
        actions.clients.add_client_email(uow, client, "ALICE@example.org")
    with pytest.raises(ValueError, match="not an email address"):
        actions.clients.add_client_email(uow, client, "alice")


def test_removing_an_address_publishes_a_tombstone(uow: FakeUnitOfWork) -> None:
    actions.clients.add_client(uow, "Alice", ["alice@example.org"])
    uow.reset()
    actions.clients.remove_client_email(uow, " Alice@EXAMPLE.org")
    assert uow.emitted == [(uow.topics.clients, "alice@example.org", None)]
    with pytest.raises(NotFound):
        actions.clients.remove_client_email(uow, "alice@example.org")


def test_a_new_name_is_republished_for_every_address(uow: FakeUnitOfWork) -> None:
    client = actions.clients.add_client(uow, "Alice", ["alice@example.org", "a2@example.org"])
    uow.reset()
    actions.clients.update_client(uow, client.id, name="Alice B.", comment="VIP")
    names = [e.name for e in uow.events(uow.topics.clients) if isinstance(e, ClientEntry)]
    assert names == ["Alice B.", "Alice B."]
    [audit] = uow.audits
    assert audit.details == {"name": "Alice B.", "comment": "VIP"}
    uow.reset()
    actions.clients.update_client(uow, client.id, name="Alice B.")
    assert uow.emitted == []  # the same name: nothing to republish
    with pytest.raises(NotFound):
        actions.clients.update_client(uow, 999, name="X")


def test_a_grant_goes_to_the_ledger_and_billing_once_per_grant_id(uow: FakeUnitOfWork) -> None:
    client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
    uow.reset()
    first = actions.clients.grant_incidents(uow, client.id, 3, reason="paid", grant_id="g-1")
    again = actions.clients.grant_incidents(uow, client.id, 3, reason="paid", grant_id="g-1")
    assert again is first
    [(topic, key, event)] = uow.emitted
    assert (topic, key) == (uow.topics.incidents, str(client.id))
    assert isinstance(event, IncidentsGranted) and (event.grant_id, event.amount) == ("g-1", 3)
    assert [(a.action, a.details) for a in uow.audits] == [
        ("incidents.grant", {"amount": 3, "reason": "paid"})
    ]
    with pytest.raises(NotFound):
        actions.clients.grant_incidents(uow, 999, 1)
