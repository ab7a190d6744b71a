from __future__ import annotations

from services.ticket_store import actions
from services.ticket_store.domain.incidents import (
    incident_balance,
    is_web_charge,
    lock_client,
    web_charge_grant_id,
)
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_the_balance_is_grants_minus_charged_tickets(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow, "Sales", per_incident=True)
    alice = builders.client(uow)
    bob = builders.client(uow, "Bob", "bob@example.org")
    assert incident_balance(uow.session, alice.id) == 0
    actions.clients.grant_incidents(uow, alice.id, 3)
    actions.clients.grant_incidents(uow, alice.id, -1, reason="adjusted")
    actions.clients.grant_incidents(uow, bob.id, 5)
    uow.flush()
    assert incident_balance(uow.session, alice.id) == 2
    charged = builders.open_command(alice, dep).model_copy(update={"charged": True})
    actions.mail_commands.open_ticket_from_mail(uow, charged)
    free = builders.open_command(alice, dep, email_id="e-2", ticket_id="BBBBBBBBBB")
    actions.mail_commands.open_ticket_from_mail(uow, free)
    uow.flush()
    assert incident_balance(uow.session, alice.id) == 1  # only the charged ticket counts
    assert incident_balance(uow.session, bob.id) == 5


def test_the_lock_changes_nothing_it_can_see(uow: FakeUnitOfWork) -> None:
    alice = builders.client(uow)
    lock_client(uow.session, alice.id)
    uow.session.refresh(alice)
    assert alice.name == "Alice"


def test_web_charges_are_recognised_by_their_grant_id() -> None:
    grant_id = web_charge_grant_id("ABCDEFGHIJ")
    assert grant_id == "web-ticket:ABCDEFGHIJ" and is_web_charge(grant_id)
    assert not is_web_charge("billing-7")
