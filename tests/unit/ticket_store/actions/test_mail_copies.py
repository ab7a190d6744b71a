"""Copies of one mail through two gateways: one message, one incoming email."""

from __future__ import annotations

from sqlalchemy import func, select

from schemas.events import AddMessage, MailContent
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions
from services.ticket_store.models import IncomingEmail, Message
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def _reply(ticket_id: str, client_id: int, email_id: str, message_id: str) -> AddMessage:
    return AddMessage(
        email_id=email_id,
        gateway_id="gw",
        ticket_id=ticket_id,
        client_id=client_id,
        content=MailContent(from_address="alice@example.org", text="hi", message_id=message_id),
    )


def test_a_reply_through_two_gateways_is_added_once(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, dep)
    add = actions.mail_commands.add_message_from_mail
    assert add(uow, _reply(ticket.id, alice.id, "copy-a", "reply-1@example.org")) is not None
    uow.flush()
    assert add(uow, _reply(ticket.id, alice.id, "copy-b", "reply-1@example.org")) is None
    # A different mail, and mail without a Message-ID, are never taken for copies.
    assert add(uow, _reply(ticket.id, alice.id, "other", "reply-2@example.org")) is not None
    assert add(uow, _reply(ticket.id, alice.id, "bare-1", "")) is not None
    uow.flush()
    assert add(uow, _reply(ticket.id, alice.id, "bare-2", "")) is not None
    uow.flush()
    count = uow.session.scalar(
        select(func.count()).select_from(Message).where(Message.ticket_number == ticket.number)
    )
    assert count == 5  # the opening mail and four replies


def _incoming(
    email_id: str, message_id: str, dep_id: int, gw: str = "gw-home"
) -> IncomingEmailEvent:
    return IncomingEmailEvent(
        email_id=email_id,
        gateway_id=gw,
        department_id=dep_id,
        content=MailContent(from_address="new@example.org", message_id=message_id, text="hello"),
    )


def test_an_unknown_sender_through_two_gateways_is_one_incoming_email(
    uow: FakeUnitOfWork,
) -> None:
    dep = builders.department(uow)
    mc = actions.mail_commands
    assert mc.record_incoming(uow, _incoming("a", "m1@example.org", dep.id)) is not None
    uow.flush()
    assert mc.record_incoming(uow, _incoming("b", "m1@example.org", dep.id)) is None
    # In bulk: copies within the batch and of stored rows are dropped, the rest kept.
    batch = [
        _incoming("c", "m1@example.org", dep.id),
        _incoming("d", "m2@example.org", dep.id),
        _incoming("e", "m2@example.org", dep.id),
        _incoming("f", "", dep.id),
        _incoming("g", "", dep.id),
        _incoming("h", "m2@example.org", dep.id, gw="gw-other"),  # another home: kept
    ]
    assert mc.record_incoming_many(uow, batch) == 4
    ids = set(uow.session.scalars(select(IncomingEmail.email_id)))
    assert ids == {"a", "d", "f", "g", "h"}
