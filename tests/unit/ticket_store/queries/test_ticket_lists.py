"""The ticket search the API's GET /tickets?q= and the web's Tickets list share."""

from __future__ import annotations

import pytest

from services.ticket_store.domain.errors import Forbidden
from services.ticket_store.queries.ticket_lists import TicketFilter, client_tickets, staff_tickets
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_search_by_subject_address_name_number_and_id(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, dep)

    def found(q: str) -> list[int]:
        return [t.number for t in staff_tickets(uow.session, john, TicketFilter(q=q))]

    for q in ("vps", "ALICE@example", "alice", f"#{ticket.number}", "[#aaaaaaaaaa]"):
        assert found(q) == [ticket.number], q
    assert found("nothing like it") == []


def test_only_my_departments_and_the_filters(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    sales = builders.department(uow, "Sales")
    john = builders.staff(uow, dep)
    alice = builders.client(uow)
    mine = builders.mail_ticket(uow, alice, dep)
    builders.mail_ticket(uow, alice, sales, email_id="e-2", ticket_id="BBBBBBBBBB")
    assert [t.number for t in staff_tickets(uow.session, john)] == [mine.number]
    assert staff_tickets(uow.session, john, TicketFilter(statuses=("closed",))) == []
    assert staff_tickets(uow.session, john, TicketFilter(assigned="me")) == []
    assert [
        t.number for t in staff_tickets(uow.session, john, TicketFilter(assigned="nobody"))
    ] == [mine.number]
    with pytest.raises(Forbidden, match=f"department {sales.id}"):
        staff_tickets(uow.session, john, TicketFilter(department_id=sales.id))
    assert len(client_tickets(uow.session, alice)) == 2
