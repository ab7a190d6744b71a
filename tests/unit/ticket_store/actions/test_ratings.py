from __future__ import annotations

import pytest

from services.ticket_store import actions
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import Client, Message, Ticket
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def _replied(uow: FakeUnitOfWork) -> tuple[Client, Ticket, Message]:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, dep)
    reply = actions.messages.staff_reply(uow, john, ticket, "Fixed.", message_id_domain="d")
    uow.reset()
    uow.actor = f"client:{alice.id}"
    return alice, ticket, reply


def test_rating_again_replaces_the_rating(uow: FakeUnitOfWork) -> None:
    alice, ticket, reply = _replied(uow)
    first = actions.ratings.rate_reply(uow, alice, reply.id, 2, " slow ")
    second = actions.ratings.rate_reply(uow, alice, reply.id, 5, ticket_number=ticket.number)
    assert second is first and (first.score, first.comment) == (5, "")
    assert [a.actor for a in uow.audits] == [f"client:{alice.id}"] * 2
    assert [a.details for a in uow.audits] == [
        {"ticket": ticket.number, "staff": reply.author_staff_id, "score": 2, "replaced": False},
        {"ticket": ticket.number, "staff": reply.author_staff_id, "score": 5, "replaced": True},
    ]
    assert uow.emitted == []


def test_what_cannot_be_rated(uow: FakeUnitOfWork) -> None:
    alice, ticket, reply = _replied(uow)
    bob = builders.client(uow, "Bob", "bob@example.org")
    uow.reset()
    with pytest.raises(NotFound):
        actions.ratings.rate_reply(uow, bob, reply.id, 3)
    with pytest.raises(NotFound):
        actions.ratings.rate_reply(uow, alice, reply.id, 3, ticket_number=ticket.number + 1)
    with pytest.raises(NotFound):
        actions.ratings.rate_reply(uow, alice, 999, 3)
    with pytest.raises(ValueError, match="only a staff reply"):
        actions.ratings.rate_reply(uow, alice, ticket.messages[0].id, 3)
    for score in (0, 6, True):
        with pytest.raises(ValueError):
            actions.ratings.rate_reply(uow, alice, reply.id, score)
    with pytest.raises(ValueError, match="2000"):
        actions.ratings.rate_reply(uow, alice, reply.id, 3, "x" * 2001)
    assert uow.audits == []
