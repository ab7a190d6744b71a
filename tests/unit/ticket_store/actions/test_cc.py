"""Cc kept in the store: To and Cc on the message, the Cc list on tickets.events, a Cc'd
person's mail under their own name, and a reply to the client only or to everyone."""

from __future__ import annotations

from sqlalchemy import select

from schemas.events import AddMessage, MailContent, MessageAdded, OutboundEmail
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions, presenters
from services.ticket_store.models import Department, IncomingEmail, Ticket
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork

TO = ("support@company.net", "colleague@example.org")
CC = ("Bob@Example.com", "sales@company.net", "alice@example.org", "carol@example.com")


def _gateways(uow: FakeUnitOfWork, dep: Department) -> None:
    for name, address, extra in (
        ("support", "Support@Company.NET", []),
        ("sales", "sales@company.net", ["orders@company.net"]),
    ):
        actions.gateways.add_gateway(
            uow, name=name, type="local", protocol="maildir", maildir_path=f"/m/{name}",
            address=address, extra_addresses=extra, department_id=dep.id,
        )  # fmt: skip


def _ticket(uow: FakeUnitOfWork) -> tuple[Ticket, Department]:
    dep = builders.department(uow)
    _gateways(uow, dep)
    client = builders.client(uow)
    cmd = builders.open_command(client, dep)
    content = cmd.content.model_copy(update={"to_addresses": TO, "cc_addresses": CC})
    ticket = actions.mail_commands.open_ticket_from_mail(
        uow, cmd.model_copy(update={"content": content})
    )
    assert ticket is not None
    return ticket, dep


def _cc_of_events(uow: FakeUnitOfWork) -> list[tuple[str, ...]]:
    return [
        e.cc_addresses for e in uow.events(uow.topics.ticket_events) if isinstance(e, MessageAdded)
    ]


def test_the_mail_keeps_to_and_cc_and_the_event_carries_the_cc_list(uow: FakeUnitOfWork) -> None:
    ticket, _ = _ticket(uow)
    [msg] = ticket.messages
    assert (msg.to_addresses, msg.cc_addresses) == (list(TO), list(CC))
    # Gateways (ours and the other one) and the client are not on the list.
    expected = ("colleague@example.org", "bob@example.com", "carol@example.com")
    assert _cc_of_events(uow) == [expected]
    view = presenters.ticket_detail(uow.session, ticket)
    assert view.cc_addresses == list(expected)
    assert view.messages[0].cc_addresses == list(CC) and view.messages[0].to_addresses == list(TO)
    assert presenters.client_ticket_detail(uow.session, ticket).messages[0].cc_addresses == []


def test_the_bulk_path_publishes_the_same_cc_list(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    _gateways(uow, dep)
    cmd = builders.open_command(builders.client(uow), dep)
    content = cmd.content.model_copy(update={"to_addresses": TO, "cc_addresses": CC})
    uow.reset()
    assert (
        actions.mail_commands.open_tickets_from_mail(
            uow, [cmd.model_copy(update={"content": content})]
        )
        == 1
    )
    assert _cc_of_events(uow) == [("colleague@example.org", "bob@example.com", "carol@example.com")]


def test_a_cc_persons_mail_is_theirs_and_never_becomes_the_reply_recipient(
    uow: FakeUnitOfWork,
) -> None:
    ticket, dep = _ticket(uow)
    john = builders.staff(uow, dep)
    cmd = AddMessage(
        email_id="e-2", gateway_id="gw", ticket_id=ticket.id, client_id=ticket.client_id,
        author="cc",
        content=MailContent(
            from_address="bob@example.com", from_name="Bob Builder", text="+1 from me",
            cc_addresses=("erin@example.com", "orders@company.net"),
        ),
    )  # fmt: skip
    uow.reset()
    msg = actions.mail_commands.add_message_from_mail(uow, cmd)
    assert msg is not None and msg.author_client_id is None
    assert (msg.from_address, msg.from_name) == ("bob@example.com", "Bob Builder")
    assert _cc_of_events(uow) == [("bob@example.com", "erin@example.com")]
    out = presenters.message_out(uow.session, msg, for_staff=True)
    assert out.author == "Bob Builder" and out.from_cc
    assert "Alice" not in out.author

    uow.reset()
    only = actions.messages.staff_reply(uow, john, ticket, "Noted.", message_id_domain="d")
    [mail] = uow.events(uow.topics.outbound)
    assert isinstance(mail, OutboundEmail)
    assert (mail.to, mail.cc, only.cc_addresses) == ("alice@example.org", (), [])

    uow.reset()
    everyone = actions.messages.staff_reply(
        uow, john, ticket, "All fixed.", message_id_domain="d", reply_all=True
    )
    [mail] = uow.events(uow.topics.outbound)
    assert isinstance(mail, OutboundEmail) and mail.to == "alice@example.org"
    assert mail.cc == (
        "colleague@example.org", "bob@example.com", "carol@example.com", "erin@example.com",
    )  # fmt: skip
    assert everyone.cc_addresses == list(mail.cc)
    assert _cc_of_events(uow) == [mail.cc]
    assert uow.audits[-1].details["cc"] == list(mail.cc)


def test_an_incoming_email_keeps_to_and_cc_into_the_ticket(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    _gateways(uow, dep)
    john = builders.staff(uow, dep)
    event = IncomingEmailEvent(
        email_id="in-cc", gateway_id="gw", department_id=dep.id,
        content=MailContent(
            from_address="new@example.org", from_name="New", text="hi", to_addresses=TO,
            cc_addresses=("new@example.org", "bob@example.com", "orders@company.net"),
        ),
    )  # fmt: skip
    assert actions.mail_commands.record_incoming_many(uow, [event]) == 1
    row = uow.session.scalar(select(IncomingEmail).where(IncomingEmail.email_id == "in-cc"))
    assert row is not None and row.to_addresses == list(TO)
    assert presenters.incoming_detail(row).cc_addresses == list(event.content.cc_addresses)
    uow.reset()
    ticket = actions.incoming_emails.convert_incoming(uow, john, row)
    [msg] = ticket.messages
    assert (msg.to_addresses, msg.cc_addresses) == (list(TO), list(event.content.cc_addresses))
    assert _cc_of_events(uow) == [("colleague@example.org", "bob@example.com")]
