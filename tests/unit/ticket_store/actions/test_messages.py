from __future__ import annotations

import pytest

from schemas.events import Attachment, OutboundEmail
from services.ticket_store import actions
from services.ticket_store.domain.errors import Conflict
from services.ticket_store.models import TicketStatus
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_staff_reply_is_an_email_threaded_to_the_clients_mail(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    uow.reset()
    msg = actions.messages.staff_reply(
        uow, john, ticket, "Rebooted.", message_id_domain="desk.test", predefined_reply_id=7
    )
    [(topic, key, mail)] = [e for e in uow.emitted if e[0] == uow.topics.outbound]
    assert key == "alice@example.org" and isinstance(mail, OutboundEmail)
    assert mail.subject == "Re: VPS down" and mail.to == "alice@example.org"
    assert mail.in_reply_to == "<first@client.example>"
    assert mail.references == ("<first@client.example>",)
    assert mail.message_id == msg.email_message_id == f"<{msg.outbound_id}@desk.test>"
    assert msg.delivery_status == "queued" and msg.direction == "out"
    assert uow.kinds(uow.topics.ticket_events) == ["message_added", "status_changed"]
    assert ticket.status == TicketStatus.AWAITING_CLIENT
    assert uow.actions() == ["ticket.status", "ticket.reply"]
    assert uow.audits[-1].details == {"message": msg.id, "predefined_reply": 7}


def test_a_reply_carries_its_attachments(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    files = (Attachment(filename="a.txt", content_type="text/plain", size=3, blob_ref="b1"),)
    msg = actions.messages.staff_reply(
        uow, john, ticket, "See file.", message_id_domain="desk.test", attachments=files
    )
    assert [(a.filename, a.blob_ref) for a in msg.attachments] == [("a.txt", "b1")]
    [mail] = uow.events(uow.topics.outbound)
    assert isinstance(mail, OutboundEmail) and mail.attachments == files


def test_reply_refusals(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    with pytest.raises(ValueError, match="empty"):
        actions.messages.staff_reply(uow, john, ticket, " ", message_id_domain="d")
    ticket.reply_to = ""
    for m in ticket.messages:
        m.from_address = ""
    actions.clients.remove_client_email(uow, "alice@example.org")
    uow.flush()
    uow.session.expire_all()
    with pytest.raises(Conflict, match="no email address"):
        actions.messages.staff_reply(uow, john, ticket, "hello", message_id_domain="d")


def test_a_note_is_published_but_never_mailed(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    uow.reset()
    msg = actions.messages.add_note(uow, john, ticket, "internal")
    assert msg.direction == "note"
    assert uow.events(uow.topics.outbound) == []
    assert uow.kinds(uow.topics.ticket_events) == ["message_added"]
    assert [(a.action, a.details) for a in uow.audits] == [("ticket.note", {"message": msg.id})]
    with pytest.raises(ValueError):
        actions.messages.add_note(uow, john, ticket, "")


def test_a_clients_answer_brings_a_closed_ticket_back(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, dep)
    actions.tickets.change_status(uow, ticket, "closed")
    uow.reset()
    uow.actor = f"client:{alice.id}"
    actions.messages.client_message(uow, alice, ticket, "still broken")
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.closed_at is None
    assert uow.kinds(uow.topics.ticket_events) == ["message_added", "status_changed"]
    assert [(a.actor, a.action) for a in uow.audits] == [(f"client:{alice.id}", "ticket.status")]


def test_a_clients_answer_to_a_new_ticket_leaves_it_new(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, dep)
    uow.reset()
    actions.messages.client_message(uow, alice, ticket, "more detail")
    assert ticket.status == TicketStatus.NEW and uow.audits == []
    with pytest.raises(ValueError):
        actions.messages.client_message(uow, alice, ticket, "  ")
