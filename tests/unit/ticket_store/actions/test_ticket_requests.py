"""Web/API tickets in a paid department: the store asks the router's incident ledger (the
one for mail too) and opens the ticket, or records the refusal, when it answers."""

from __future__ import annotations

import pytest

from schemas.ticket_requests import TicketDecided, TicketRequested
from services.ticket_store import actions
from services.ticket_store.domain.errors import InsufficientIncidents
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Ticket
from services.ticket_store.models_ticket_requests import RequestState, TicketRequest
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def _decided(row: TicketRequest, opened: bool) -> TicketDecided:
    return TicketDecided(
        request_id=row.id,
        client_id=row.client_id,
        ticket_id=row.ticket_id,
        opened=opened,
        charged=opened,
        reason="incident charged, 0 left" if opened else "balance 0; notice sent",
    )


def test_a_web_ticket_in_a_paid_department_spends_one_incident(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow, "Sales", per_incident=True, insufficient_notice="Top up.")
    alice = builders.client(uow)
    actions.clients.grant_incidents(uow, alice.id, 1, grant_id="g-1")
    uow.reset()
    row = actions.ticket_requests.open_ticket_by_client(uow, alice, dep.id, "Invoice", "where")
    assert isinstance(row, TicketRequest) and row.state == RequestState.PENDING
    # Asked, not charged: the ledger decides; the request holds the incident in the view.
    [(_topic, key, asked)] = [e for e in uow.emitted if e[0] == uow.topics.ticket_requests]
    assert key == str(alice.id) and isinstance(asked, TicketRequested)
    assert (asked.request_id, asked.ticket_id, asked.department_id) == (
        row.id,
        row.ticket_id,
        dep.id,
    )
    assert uow.events(uow.topics.incidents) == [] and uow.events(uow.topics.ticket_events) == []
    assert incident_balance(uow.session, alice.id) == 0
    uow.reset()
    ticket = actions.ticket_requests.apply_decision(uow, _decided(row, opened=True))
    assert isinstance(ticket, Ticket) and ticket.charged and ticket.id == row.ticket_id
    assert row.state == RequestState.OPENED and incident_balance(uow.session, alice.id) == 0
    assert uow.kinds(uow.topics.ticket_events) == ["ticket_opened", "message_added"]
    assert uow.audits[-1].details == {"charged": True, "request": row.id}
    uow.reset()
    assert actions.ticket_requests.apply_decision(uow, _decided(row, opened=True)) is None
    assert uow.emitted == []  # a redelivered answer changes nothing
    with pytest.raises(InsufficientIncidents) as refused:
        actions.ticket_requests.open_ticket_by_client(uow, alice, dep.id, "Again", "one more")
    assert refused.value.notice == "Top up." and str(refused.value) == "Top up."
    assert uow.emitted == [] and uow.audits == []


def test_a_refusal_keeps_the_message_and_shows_the_notice(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow, "Sales", per_incident=True, insufficient_notice="Top up.")
    alice = builders.client(uow)
    actions.clients.grant_incidents(uow, alice.id, 1, grant_id="g-1")
    row = actions.ticket_requests.open_ticket_by_client(uow, alice, dep.id, "Invoice", "where")
    assert isinstance(row, TicketRequest)
    uow.reset()
    assert actions.ticket_requests.apply_decision(uow, _decided(row, opened=False)) is row
    assert (row.state, row.notice, row.text) == (RequestState.REFUSED, "Top up.", "where")
    assert uow.session.query(Ticket).count() == 0 and uow.events(uow.topics.ticket_events) == []
    assert incident_balance(uow.session, alice.id) == 1  # the store's view: nothing spent
    assert actions.ticket_requests.apply_decision(uow, _decided(row, opened=True)) is None


def test_an_answer_to_an_unknown_request_is_skipped(uow: FakeUnitOfWork) -> None:
    stray = TicketDecided(request_id="nope", client_id=1, ticket_id="T", opened=True)
    assert actions.ticket_requests.apply_decision(uow, stray) is None
    assert uow.emitted == []
