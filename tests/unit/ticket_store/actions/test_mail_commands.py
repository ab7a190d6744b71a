from __future__ import annotations

import pytest

from schemas.events import (
    AddMessage,
    Attachment,
    Decision,
    IncidentsGranted,
    MailContent,
    MessageAdded,
    OpenTicket,
    Outcome,
    TicketOpened,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import TicketStatus
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_ticket_from_mail_is_opened_once(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    uow.reset()
    ticket = builders.mail_ticket(uow, alice, dep)
    assert ticket.reply_to == "alice@example.org" and ticket.source_email_id == "e-1"
    opened, added = uow.events(uow.topics.ticket_events)
    assert isinstance(opened, TicketOpened) and opened.source_email_id == "e-1"
    assert isinstance(added, MessageAdded) and added.direction == "in"
    assert uow.keys(uow.topics.ticket_events) == [ticket.id, ticket.id]
    assert uow.audits == []  # mail is recorded by its outcome, not the audit log
    uow.reset()
    again = builders.open_command(alice, dep, ticket_id="BBBBBBBBBB")  # the same email id
    assert actions.mail_commands.open_ticket_from_mail(uow, again) is None
    assert uow.emitted == []


def test_mail_html_is_cleaned_and_attachments_kept(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    cmd = OpenTicket(
        email_id="e-html",
        gateway_id="gw",
        ticket_id="CCCCCCCCCC",
        client_id=alice.id,
        department_id=dep.id,
        content=MailContent(
            from_address="alice@example.org",
            html='<p onclick="x()">hi<script>alert(1)</script></p>',
            attachments=(Attachment(filename="a.pdf", content_type="application/pdf", size=9),),
        ),
    )
    ticket = actions.mail_commands.open_ticket_from_mail(uow, cmd)
    assert ticket is not None
    [msg] = ticket.messages
    assert "script" not in msg.html and "onclick" not in msg.html and "hi" in msg.html
    assert [a.filename for a in msg.attachments] == ["a.pdf"]


def test_an_answer_by_mail_reopens_and_is_added_once(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    ticket = builders.mail_ticket(uow, alice, dep)
    actions.tickets.change_status(uow, ticket, "closed")
    uow.reset()
    uow.actor = "mail"
    cmd = AddMessage(
        email_id="e-2",
        gateway_id="gw",
        ticket_id=ticket.id,
        client_id=alice.id,
        content=MailContent(from_address="alice@example.org", text="again"),
    )
    msg = actions.mail_commands.add_message_from_mail(uow, cmd)
    assert msg is not None and ticket.status == TicketStatus.IN_PROGRESS
    assert uow.kinds(uow.topics.ticket_events) == ["message_added", "status_changed"]
    assert [(a.actor, a.action) for a in uow.audits] == [("mail", "ticket.status")]
    uow.reset()
    assert actions.mail_commands.add_message_from_mail(uow, cmd) is None
    assert uow.emitted == []
    unknown = cmd.model_copy(update={"email_id": "e-3", "ticket_id": "ZZZZZZZZZZ"})
    with pytest.raises(NotFound):
        actions.mail_commands.add_message_from_mail(uow, unknown)


def test_incoming_mail_and_outcomes_are_recorded_once(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    row = builders.incoming(uow, dep)
    uow.reset()
    assert (row.from_address, row.status) == ("New.Person@Example.org", "new")
    repeat = IncomingEmailEvent(
        email_id="in-1",
        gateway_id="gw",
        department_id=dep.id,
        content=MailContent(from_address="x@example.org"),
    )
    assert actions.mail_commands.record_incoming(uow, repeat) is None
    outcome = Outcome(email_id="in-1", gateway_id="gw", decision=Decision.INCOMING, rule="client")
    first = actions.mail_commands.record_outcome(uow, outcome)
    assert first is not None and first.decision == "incoming"
    uow.flush()
    assert actions.mail_commands.record_outcome(uow, outcome) is None
    assert uow.emitted == [] and uow.audits == []


def test_a_late_failure_never_undoes_a_delivery(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    reply = actions.messages.staff_reply(uow, john, ticket, "Done.", message_id_domain="d")
    assert reply.outbound_id is not None
    uow.reset()
    sent = actions.mail_commands.record_delivery(uow, reply.outbound_id, status="sent")
    assert sent is reply and reply.delivered_at is not None
    assert actions.mail_commands.record_delivery(uow, reply.outbound_id, status="sent") is None
    late = actions.mail_commands.record_delivery(
        uow, reply.outbound_id, status="failed", detail="550"
    )
    assert late is None and reply.delivery_status == "sent"
    assert actions.mail_commands.record_delivery(uow, "unknown", status="sent") is None
    # One event for the one change (sent); the repeat, the late failure and the unknown none.
    assert uow.kinds(uow.topics.ticket_events) == ["delivery_result"]
    assert len(uow.emitted) == 1 and uow.audits == []


def test_external_grants_join_the_ledger_once_as_billing(uow: FakeUnitOfWork) -> None:
    alice = builders.client(uow)
    actions.clients.grant_incidents(uow, alice.id, 2, grant_id="own-1")
    uow.reset()
    grants = [
        IncidentsGranted(grant_id="billing-1", client_id=alice.id, amount=5),
        IncidentsGranted(grant_id="own-1", client_id=alice.id, amount=2),  # our own echo
        IncidentsGranted(grant_id="web-ticket:AAAAAAAAAA", client_id=alice.id, amount=-1),
        IncidentsGranted(grant_id="billing-2", client_id=alice.id + 99, amount=5),
    ]
    recorded = [actions.mail_commands.record_external_grant(uow, g) for g in grants]
    assert [r is not None for r in recorded] == [True, False, False, False]
    uow.flush()
    assert actions.mail_commands.record_external_grant(uow, grants[0]) is None
    assert incident_balance(uow.session, alice.id) == 7
    assert [(a.actor, a.action, a.details) for a in uow.audits] == [
        ("billing", "incidents.grant", {"amount": 5})
    ]
    assert uow.emitted == []
