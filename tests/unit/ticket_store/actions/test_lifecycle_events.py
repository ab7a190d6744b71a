"""tickets.events for every lifecycle change: each event with its type, the ticket's
gap-free sequence, who acted and what caused it (issue 11, item 6)."""

from __future__ import annotations

import pytest

from schemas import codec
from schemas.events import (
    TICKET_EVENTS,
    AddMessage,
    DeliveryResult,
    IncomingEmailAttached,
    IncomingEmailConverted,
    IncomingEmailDiscarded,
    LifecycleEnvelope,
    MailContent,
    MessageAdded,
    TicketAssigned,
    TicketOpened,
    TicketStatusChanged,
)
from services.ticket_store import actions
from services.ticket_store.models import Ticket
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def _events(uow: FakeUnitOfWork) -> list[LifecycleEnvelope]:
    events = uow.events(uow.topics.ticket_events)
    assert all(isinstance(e, LifecycleEnvelope) for e in events)
    return events  # type: ignore[return-value]


def _trail(uow: FakeUnitOfWork) -> list[tuple[int, str, str, str]]:
    """(sequence, type, actor, cause) of every ticket event emitted so far."""
    return [(e.sequence, e.type, e.actor, e.cause) for e in _events(uow)]  # type: ignore[attr-defined]


def _as_mail(uow: FakeUnitOfWork) -> None:
    uow.actor, uow.cause = "mail", ""


def _as_request(uow: FakeUnitOfWork, actor: str, request_id: str) -> None:
    uow.actor, uow.cause = actor, f"request:{request_id}"


def test_a_ticket_life_is_numbered_without_gaps_with_actor_and_cause(
    uow: FakeUnitOfWork,
) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    alice = builders.client(uow)
    uow.reset()
    _as_mail(uow)
    ticket = builders.mail_ticket(uow, alice, dep)
    _as_request(uow, f"staff:{john.id}", "r-assign")
    actions.tickets.assign_to_me(uow, john, ticket)
    _as_request(uow, f"staff:{john.id}", "r-note")
    actions.messages.add_note(uow, john, ticket, "Checking the host.")
    _as_request(uow, f"staff:{john.id}", "r-reply")
    reply = actions.messages.staff_reply(uow, john, ticket, "Fixed.", message_id_domain="d")
    _as_mail(uow)
    assert reply.outbound_id is not None
    actions.mail_commands.record_delivery(uow, reply.outbound_id, status="sent")
    answer = AddMessage(
        email_id="e-2",
        gateway_id="gw",
        ticket_id=ticket.id,
        client_id=alice.id,
        content=MailContent(from_address="alice@example.org", text="Thanks!"),
    )
    actions.mail_commands.add_message_from_mail(uow, answer)
    _as_request(uow, f"client:{alice.id}", "r-close")
    actions.tickets.change_status(uow, ticket, "closed")

    staff, client = f"staff:{john.id}", f"client:{alice.id}"
    assert _trail(uow) == [
        (1, "ticket_opened", "mail", "email:e-1"),
        (2, "message_added", "mail", "email:e-1"),
        (3, "assigned", staff, "request:r-assign"),
        (4, "status_changed", staff, "request:r-assign"),
        (5, "message_added", staff, "request:r-note"),
        (6, "message_added", staff, "request:r-reply"),
        (7, "status_changed", staff, "request:r-reply"),
        (8, "delivery_result", "mail", f"outbound:{reply.outbound_id}"),
        (9, "message_added", "mail", "email:e-2"),
        (10, "status_changed", "mail", "email:e-2"),
        (11, "status_changed", client, "request:r-close"),
    ]
    assert set(uow.keys(uow.topics.ticket_events)) == {ticket.id}
    assert ticket.event_sequence == 11
    events = _events(uow)
    assert all(e.ticket_id == ticket.id for e in events)  # type: ignore[attr-defined]
    assert len({e.event_id for e in events}) == len(events)


def test_each_event_type_carries_its_payload(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    opened, first = _events(uow)
    assert isinstance(opened, TicketOpened)
    assert (opened.number, opened.subject, opened.source_email_id) == (
        ticket.number, "VPS down", "e-1",
    )  # fmt: skip
    assert isinstance(first, MessageAdded) and (first.direction, first.source_email_id) == (
        "in", "e-1",
    )  # fmt: skip
    uow.reset()
    actions.tickets.assign_to_me(uow, john, ticket)
    actions.tickets.assign_to_me(uow, john, ticket)  # already theirs: no second event
    note = actions.messages.add_note(uow, john, ticket, "internal")
    reply = actions.messages.staff_reply(uow, john, ticket, "Done.", message_id_domain="d")
    assert reply.outbound_id is not None
    actions.mail_commands.record_delivery(uow, reply.outbound_id, status="deferred", detail="451")
    actions.mail_commands.record_delivery(uow, reply.outbound_id, status="failed", detail="550")
    assigned, status, noted, replied, awaiting, deferred, failed = _events(uow)
    assert isinstance(assigned, TicketAssigned)
    assert (assigned.staff_id, assigned.previous_staff_id) == (john.id, None)
    assert isinstance(status, TicketStatusChanged)
    assert (status.old_status, status.new_status) == ("new", "in_progress")
    assert isinstance(noted, MessageAdded) and (noted.direction, noted.message_id) == (
        "note", note.id,
    )  # fmt: skip
    assert isinstance(replied, MessageAdded) and replied.direction == "out"
    assert replied.email_message_id == reply.email_message_id
    assert isinstance(awaiting, TicketStatusChanged) and awaiting.new_status == "awaiting_client"
    assert isinstance(deferred, DeliveryResult) and isinstance(failed, DeliveryResult)
    assert [(d.status, d.detail, d.message_id, d.outbound_id) for d in (deferred, failed)] == [
        ("deferred", "451", reply.id, reply.outbound_id),
        ("failed", "550", reply.id, reply.outbound_id),
    ]
    assert [e.sequence for e in _events(uow)] == [3, 4, 5, 6, 7, 8, 9]


def test_incoming_emails_converted_attached_and_discarded(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    row = builders.incoming(uow, dep)
    uow.reset()
    _as_request(uow, f"staff:{john.id}", "r-1")
    ticket = actions.incoming_emails.convert_incoming(uow, john, row)
    *_, converted = _events(uow)
    assert isinstance(converted, IncomingEmailConverted)
    assert (converted.sequence, converted.ticket_id, converted.email_id) == (3, ticket.id, "in-1")
    assert (converted.incoming_email_id, converted.client_id, converted.new_client) == (
        row.id, ticket.client_id, True,
    )  # fmt: skip
    assert (converted.actor, converted.cause) == (f"staff:{john.id}", "request:r-1")

    second = _another_incoming(uow, dep, "in-2")
    third = _another_incoming(uow, dep, "in-3")
    uow.reset()
    msg = actions.incoming_emails.attach_incoming_to_ticket(uow, john, second, ticket)
    *_, attached = _events(uow)
    assert isinstance(attached, IncomingEmailAttached)
    assert (attached.ticket_id, attached.email_id, attached.message_id) == (
        ticket.id, "in-2", msg.id,
    )  # fmt: skip
    assert [e.sequence for e in _events(uow)] == [4, 5]  # message_added, incoming_attached

    uow.reset()
    actions.incoming_emails.discard_incoming(uow, john, third, "deleted")
    [discarded] = _events(uow)
    assert uow.keys(uow.topics.ticket_events) == ["incoming:in-3"]
    assert isinstance(discarded, IncomingEmailDiscarded)
    assert (discarded.sequence, discarded.status, discarded.department_id) == (1, "deleted", dep.id)
    assert (discarded.email_id, discarded.incoming_email_id) == ("in-3", third.id)


def _another_incoming(uow: FakeUnitOfWork, dep: object, email_id: str):  # -> IncomingEmail
    from schemas.events import IncomingEmail as IncomingEmailEvent

    event = IncomingEmailEvent(
        email_id=email_id,
        gateway_id="gw",
        department_id=dep.id,  # type: ignore[attr-defined]
        content=MailContent(from_address="someone@example.org", subject="Hi", text="x"),
    )
    row = actions.mail_commands.record_incoming(uow, event)
    assert row is not None
    uow.flush()
    return row


def test_the_bulk_path_numbers_like_the_single_one(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    alice = builders.client(uow)
    uow.reset()
    _as_mail(uow)
    cmds = [builders.open_command(alice, dep, email_id=f"e-{n}", ticket_id=f"T{n:09d}")
            for n in (1, 2)]  # fmt: skip
    assert actions.mail_commands.open_tickets_from_mail(uow, cmds) == 2
    assert [(e.sequence, e.cause, e.actor) for e in _events(uow)] == [
        (1, "email:e-1", "mail"), (2, "email:e-1", "mail"),
        (1, "email:e-2", "mail"), (2, "email:e-2", "mail"),
    ]  # fmt: skip
    uow.reset()
    ticket = uow.session.query(Ticket).filter_by(id="T000000002").one()
    actions.messages.add_note(uow, john, ticket, "next")
    assert [e.sequence for e in _events(uow)] == [3]


def test_a_rolled_back_change_gives_its_number_back(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    uow.reset()
    with pytest.raises(RuntimeError), uow.savepoint():
        actions.messages.add_note(uow, john, ticket, "lost")
        raise RuntimeError("the request failed")
    uow.session.expire(ticket, ["event_sequence"])
    assert uow.next_sequence(ticket) == 3


def test_a_client_web_ticket_names_the_client(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    alice = builders.client(uow)
    uow.reset()
    _as_request(uow, f"client:{alice.id}", "r-web")
    actions.ticket_requests.open_ticket_by_client(uow, alice, dep.id, "Printer", "It jams.")
    assert _trail(uow) == [
        (1, "ticket_opened", f"client:{alice.id}", "request:r-web"),
        (2, "message_added", f"client:{alice.id}", "request:r-web"),
    ]


def test_every_type_survives_the_wire(uow: FakeUnitOfWork) -> None:
    """Each type on tickets.events reads back as itself through the codec's union."""
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    actions.tickets.assign_to_me(uow, john, ticket)
    reply = actions.messages.staff_reply(uow, john, ticket, "Done.", message_id_domain="d")
    actions.mail_commands.record_delivery(uow, reply.outbound_id or "", status="sent")
    actions.incoming_emails.convert_incoming(uow, john, builders.incoming(uow, dep))
    actions.incoming_emails.attach_incoming_to_ticket(
        uow, john, _another_incoming(uow, dep, "in-2"), ticket
    )
    actions.incoming_emails.discard_incoming(uow, john, _another_incoming(uow, dep, "in-3"), "spam")
    events = _events(uow)
    assert {type(e) for e in events} == set(TICKET_EVENTS)
    for event in events:
        assert codec.loads_ticket_event(codec.dumps(event)) == event


def test_a_ticket_event_without_its_sequence_is_refused(uow: FakeUnitOfWork) -> None:
    """Only `ticket_event` and `stamped` number events; a bare emit would leave a gap."""
    dep = builders.department(uow)
    ticket = builders.mail_ticket(uow, builders.client(uow), dep)
    bare = actions.events.status_changed(ticket, "new", "closed")
    with pytest.raises(ValueError, match="without its sequence"):
        uow.emit(uow.topics.ticket_events, ticket.id, bare)
    with pytest.raises(ValueError, match="without its sequence"):
        uow.emit_many([(uow.topics.ticket_events, ticket.id, bare)])
    uow.emit(uow.topics.ticket_events, ticket.id, uow.stamped(bare, 3))
