"""The consumer's bulk actions give the same rows and events as the one-by-one ones."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from schemas.events import (
    Attachment,
    Decision,
    MailContent,
    MessageAdded,
    OpenTicket,
    Outcome,
    TicketOpened,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions
from services.ticket_store.models import IncomingEmail, MailOutcome, Message, Ticket
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def _command(client_id: int, dep_id: int, n: int, **content: object) -> OpenTicket:
    return OpenTicket(
        email_id=f"e-{n}",
        gateway_id="gw",
        ticket_id=f"T{n:09d}",
        client_id=client_id,
        department_id=dep_id,
        content=MailContent(
            from_address="Alice@Example.org", subject=f"#{n}", message_id=f"m{n}@x", **content
        ),
    )


def test_many_tickets_at_once_match_one_by_one_and_skip_repeats(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    builders.mail_ticket(uow, alice, dep, email_id="e-0", ticket_id="T000000000")
    uow.reset()
    pdf = Attachment(filename="a.pdf", content_type="application/pdf", size=9, blob_ref="b1")
    cmds = [
        _command(alice.id, dep.id, 0),  # applied before: skipped
        _command(alice.id, dep.id, 1, text="hello"),
        _command(alice.id, dep.id, 2, html="<p onclick='x()'>hi</p>", attachments=(pdf,)),
        _command(alice.id, dep.id, 1, text="hello"),  # a repeat within the batch: skipped
    ]
    assert actions.mail_commands.open_tickets_from_mail(uow, cmds) == 2

    s = uow.session
    t1 = s.scalar(select(Ticket).where(Ticket.source_email_id == "e-1"))
    t2 = s.scalar(select(Ticket).where(Ticket.source_email_id == "e-2"))
    assert t1 is not None and t2 is not None
    assert (t1.id, t1.status, t1.reply_to, t1.gateway_id, t1.subject) == (
        "T000000001", "new", "alice@example.org", "gw", "#1",
    )  # fmt: skip
    [m1] = t1.messages
    [m2] = t2.messages
    assert (m1.direction, m1.text, m1.author_client_id, m1.email_message_id) == (
        "in", "hello", alice.id, "m1@x",
    )  # fmt: skip
    assert "onclick" not in m2.html and "hi" in m2.html
    assert [(a.filename, a.blob_ref) for a in m2.attachments] == [("a.pdf", "b1")]
    assert s.scalar(select(Message).where(Message.source_email_id == "e-0")) is not None

    events = uow.events(uow.topics.ticket_events)
    assert [type(e) for e in events] == [TicketOpened, MessageAdded, TicketOpened, MessageAdded]
    assert uow.keys(uow.topics.ticket_events) == [t1.id, t1.id, t2.id, t2.id]
    opened, added = events[2], events[3]
    assert isinstance(opened, TicketOpened) and isinstance(added, MessageAdded)
    assert (opened.number, opened.source_email_id, opened.client_id) == (t2.number, "e-2", alice.id)
    assert (added.message_id, added.source_email_id, added.direction) == (m2.id, "e-2", "in")

    uow.reset()
    assert actions.mail_commands.open_tickets_from_mail(uow, cmds) == 0
    assert uow.emitted == []


def test_many_outcomes_and_incoming_emails_at_once_skip_what_is_there(
    uow: FakeUnitOfWork,
) -> None:
    dep = builders.department(uow)
    now = datetime.now(UTC)
    outcomes = [
        Outcome(email_id=f"e-{i}", gateway_id="gw", decision=Decision.INCOMING, rule="client",
                decided_at=now)
        for i in (1, 2, 1)
    ]  # fmt: skip
    actions.mail_commands.record_outcome(uow, outcomes[0])
    assert actions.mail_commands.record_outcomes(uow, outcomes) == 1
    assert actions.mail_commands.record_outcomes(uow, outcomes) == 0
    rows = uow.session.scalars(select(MailOutcome).order_by(MailOutcome.email_id)).all()
    assert [(r.email_id, r.decision, r.automatic) for r in rows] == [
        ("e-1", "incoming", False), ("e-2", "incoming", False),
    ]  # fmt: skip

    events = [
        IncomingEmailEvent(
            email_id=f"in-{i}", gateway_id="gw", department_id=dep.id,
            content=MailContent(from_address="bob@example.org", subject="hi", html="<b>x</b>"),
        )
        for i in (1, 2, 2)
    ]  # fmt: skip
    actions.mail_commands.record_incoming(uow, events[0])
    assert actions.mail_commands.record_incoming_many(uow, events) == 1
    assert actions.mail_commands.record_incoming_many(uow, events) == 0
    stored = uow.session.scalars(select(IncomingEmail).order_by(IncomingEmail.email_id)).all()
    assert [(r.email_id, r.status, r.html) for r in stored] == [
        ("in-1", "new", "<b>x</b>"), ("in-2", "new", "<b>x</b>"),
    ]  # fmt: skip


TICKET_COLUMNS = ("department_id", "client_id", "reply_to", "gateway_id", "charged", "status")
MESSAGE_COLUMNS = ("direction", "author_client_id", "from_address", "text", "html",
                   "email_message_id")  # fmt: skip


def test_one_ticket_and_many_store_the_same_columns(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    content = {"text": "hello", "html": "<p onclick='x()'>hi</p>", "from_name": "Alice"}
    one = _command(alice.id, dep.id, 1, **content).model_copy(update={"charged": True})
    many = _command(alice.id, dep.id, 2, **content).model_copy(update={"charged": True})
    actions.mail_commands.open_ticket_from_mail(uow, one)
    assert actions.mail_commands.open_tickets_from_mail(uow, [many]) == 1
    uow.session.expire_all()

    def columns(email_id: str) -> tuple[dict[str, object], dict[str, object]]:
        ticket = uow.session.scalar(select(Ticket).where(Ticket.source_email_id == email_id))
        assert ticket is not None
        [msg] = ticket.messages
        t = {c: getattr(ticket, c) for c in TICKET_COLUMNS}
        m = {c: getattr(msg, c) for c in MESSAGE_COLUMNS}
        return t, m

    t1, m1 = columns("e-1")
    t2, m2 = columns("e-2")
    assert t1 == t2 and t1["charged"] is True and t1["status"] == "new"
    assert m1 | {"email_message_id": ""} == m2 | {"email_message_id": ""}
    assert (m1["email_message_id"], m2["email_message_id"]) == ("m1@x", "m2@x")
    assert "onclick" not in str(m2["html"]) and m2["author_client_id"] == alice.id
