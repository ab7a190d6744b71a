"""Who may see what: staff by department (403 for another's), clients their own (404 for
anyone else's), administrators for managing replies; ids no row can have are not found."""

from __future__ import annotations

import pytest

from services.ticket_store import access, actions
from services.ticket_store.domain.errors import Forbidden, NotFound
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_staff_see_tickets_of_their_departments_only(uow: FakeUnitOfWork) -> None:
    technical = builders.department(uow)
    sales = builders.department(uow, "Sales")
    john = builders.staff(uow, technical)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, sales)
    with pytest.raises(Forbidden, match=rf"ticket #{ticket.number} is in a department you do"):
        access.staff_ticket(uow.session, john, ticket.number)
    actions.staff.update_staff(uow, john.id, department_ids=[technical.id, sales.id])
    assert access.staff_ticket(uow.session, john, ticket.number) is ticket
    with pytest.raises(NotFound, match="ticket #999"):
        access.staff_ticket(uow.session, john, 999)
    with pytest.raises(NotFound):
        access.staff_ticket(uow.session, john, 2**40)


def test_a_client_sees_only_their_own_tickets_and_never_learns_of_others(
    uow: FakeUnitOfWork,
) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    bob = builders.client(uow, "Bob", "bob@example.org")
    ticket = builders.mail_ticket(uow, alice, dep)
    assert access.client_ticket(uow.session, alice, ticket.number) is ticket
    with pytest.raises(NotFound) as refused:
        access.client_ticket(uow.session, bob, ticket.number)
    assert str(refused.value) == f"ticket #{ticket.number}"


def test_incoming_emails_and_their_attachments_by_department(uow: FakeUnitOfWork) -> None:
    technical = builders.department(uow)
    sales = builders.department(uow, "Sales")
    john = builders.staff(uow, technical)
    row = builders.incoming(uow, sales)
    with pytest.raises(Forbidden, match="department you do not work in"):
        access.staff_incoming(uow.session, john, row.id)
    gary = builders.staff(uow, sales, "Gary Jones")
    assert access.staff_incoming(uow.session, gary, row.id) is row
    with pytest.raises(NotFound, match="attachment 0 of incoming email"):
        access.incoming_attachment(uow.session, gary, row.id, 0)


def test_only_administrators_manage_pre_defined_replies(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    reply = actions.predefined_replies.add_predefined_reply(uow, "Hi", "Hello")
    with pytest.raises(Forbidden, match="administrators only"):
        access.managed_reply(uow.session, john, reply.id)
    actions.staff.update_staff(uow, john.id, is_admin=True)
    assert access.managed_reply(uow.session, john, reply.id) is reply
    with pytest.raises(NotFound, match="pre-defined reply 999"):
        access.managed_reply(uow.session, john, 999)


def test_an_administrator_cannot_lock_themselves_out(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    ann = builders.staff(uow, dep, "Ann Admin")
    with pytest.raises(ValueError, match="cannot deactivate yourself"):
        access.check_staff_change(ann, ann.id, active=False, is_admin=None)
    with pytest.raises(ValueError, match="admin rights"):
        access.check_staff_change(ann, ann.id, active=None, is_admin=False)
    access.check_staff_change(ann, ann.id + 1, active=False, is_admin=False)  # someone else
