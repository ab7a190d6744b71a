from __future__ import annotations

import pytest

from services.ticket_store import actions
from services.ticket_store.domain.errors import InvalidTransition, NotFound
from services.ticket_store.models import TicketStatus
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_status_change_is_an_event_and_an_audit_entry(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    uow.reset()
    actions.tickets.change_status(uow, ticket, "closed")
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None
    [(topic, key, event)] = uow.emitted
    assert (topic, key) == (uow.topics.ticket_events, ticket.id)
    assert event is not None and event.model_dump(include={"old_status", "new_status"}) == {
        "old_status": "new",
        "new_status": "closed",
    }
    [audit] = uow.audits
    assert (audit.actor, audit.action, audit.obj_id) == (
        "staff:1",
        "ticket.status",
        str(ticket.number),
    )
    assert audit.details == {"old": "new", "new": "closed"}


def test_staying_put_changes_nothing_and_a_bad_move_is_refused(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    uow.reset()
    actions.tickets.change_status(uow, ticket, "new")
    assert uow.emitted == [] and uow.audits == []
    with pytest.raises(InvalidTransition):
        actions.tickets.change_status(uow, ticket, "archived")
    with pytest.raises(InvalidTransition, match="unknown status"):
        actions.tickets.change_status(uow, ticket, "lost")


def test_assigning_a_new_ticket_puts_it_in_progress(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    uow.reset()
    actions.tickets.assign_to_me(uow, john, ticket)
    assert ticket.assigned_staff_id == john.id and ticket.status == TicketStatus.IN_PROGRESS
    assert uow.kinds(uow.topics.ticket_events) == ["assigned", "status_changed"]
    assert uow.actions() == ["ticket.status", "ticket.assign"]
    assert uow.audits[-1].details == {"staff": john.id}


def test_a_web_ticket_in_a_free_department_charges_nothing(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    uow.reset()
    ticket = actions.ticket_requests.open_ticket_by_client(uow, alice, dep.id, "  ", "please help")
    assert ticket.subject == "(no subject)" and ticket.reply_to == "alice@example.org"
    assert not ticket.charged
    assert uow.kinds(uow.topics.ticket_events) == ["ticket_opened", "message_added"]
    assert uow.events(uow.topics.incidents) == []
    [audit] = uow.audits
    assert (audit.action, audit.details) == ("ticket.open", {"charged": False})


def test_web_ticket_refusals(uow: FakeUnitOfWork) -> None:
    hidden = builders.department(uow, "Internal", show_in_support_center=False)
    shown = builders.department(uow, "Tech")
    alice = builders.client(uow)
    with pytest.raises(NotFound):
        actions.ticket_requests.open_ticket_by_client(uow, alice, hidden.id, "x", "y")
    with pytest.raises(NotFound):
        actions.ticket_requests.open_ticket_by_client(uow, alice, 999, "x", "y")
    with pytest.raises(ValueError, match="empty"):
        actions.ticket_requests.open_ticket_by_client(uow, alice, shown.id, "x", "   ")
