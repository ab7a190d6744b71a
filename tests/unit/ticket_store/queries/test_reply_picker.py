"""The Auto-reply window: replies offered on a ticket, filled in, and the text a reply sends."""

from __future__ import annotations

import pytest

from services.ticket_store import actions
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.queries.reply_picker import offered_replies, pick_reply, reply_text
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_replies_are_offered_filled_in_for_the_ticket(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    other = builders.department(uow, "Sales")
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    hello = actions.predefined_replies.add_predefined_reply(
        uow, "Hello", "Dear {client_name}, #{ticket_number} {unknown}"
    )
    actions.predefined_replies.add_predefined_reply(
        uow, "Sales only", "x", scope="department", department_id=other.id
    )
    offered = offered_replies(uow.session, john, ticket)
    assert [(o.reply.id, o.text) for o in offered] == [
        (hello.id, f"Dear Alice, #{ticket.number} {{unknown}}")
    ]


def test_typed_text_wins_and_a_picked_reply_fills_an_empty_box(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    reply = actions.predefined_replies.add_predefined_reply(uow, "Hi", "Hi {client_name}")
    assert reply_text(uow.session, john, ticket, "typed", None) == ("typed", None)
    assert reply_text(uow.session, john, ticket, "typed", "") == ("typed", None)
    assert reply_text(uow.session, john, ticket, "  ", str(reply.id)) == ("Hi Alice", reply.id)
    assert reply_text(uow.session, john, ticket, "mine", reply.id) == ("mine", reply.id)
    assert pick_reply(uow.session, john, ticket, f" {reply.id} ").text == "Hi Alice"


def test_a_reply_not_available_here_is_not_found(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    other = builders.department(uow, "Sales")
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    elsewhere = actions.predefined_replies.add_predefined_reply(
        uow, "Sales", "x", scope="department", department_id=other.id
    )
    for wanted in (elsewhere.id, "abc", 999):
        with pytest.raises(NotFound, match="for you here"):
            reply_text(uow.session, john, ticket, "", wanted)
