"""Set-up for the actions' unit tests: the few rows most tests need, made by the actions
themselves, then `uow.reset()` so each test sees only what its own action did."""

from __future__ import annotations

from schemas.events import IncomingEmail as IncomingEmailEvent
from schemas.events import MailContent, OpenTicket
from services.ticket_store import actions
from services.ticket_store.models import Client, Department, IncomingEmail, Staff, Ticket
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def department(
    uow: FakeUnitOfWork, name: str = "Technical support", **fields: object
) -> Department:
    fields.setdefault("show_in_support_center", True)
    return actions.departments.add_department(uow, name, **fields)  # type: ignore[arg-type]


def client(uow: FakeUnitOfWork, name: str = "Alice", email: str = "alice@example.org") -> Client:
    return actions.clients.add_client(uow, name, [email])


def staff(uow: FakeUnitOfWork, dep: Department, name: str = "John Smith") -> Staff:
    email = name.split()[0].lower() + "@company.net"
    return actions.staff.add_staff(uow, name, email, "", department_ids=[dep.id])


def open_command(
    who: Client,
    dep: Department,
    *,
    email_id: str = "e-1",
    ticket_id: str = "AAAAAAAAAA",
    message_id: str = "first@client.example",
) -> OpenTicket:
    """The router's command for Alice's first mail (a bare Message-ID, as the router keeps it)."""
    return OpenTicket(
        email_id=email_id,
        gateway_id="gw",
        ticket_id=ticket_id,
        client_id=who.id,
        department_id=dep.id,
        content=MailContent(
            from_address="Alice@Example.org",
            subject="VPS down",
            text="help",
            message_id=message_id,
        ),
    )


def mail_ticket(uow: FakeUnitOfWork, who: Client, dep: Department, **command: str) -> Ticket:
    ticket = actions.mail_commands.open_ticket_from_mail(uow, open_command(who, dep, **command))
    assert ticket is not None
    return ticket


def incoming(
    uow: FakeUnitOfWork, dep: Department, sender: str = "New.Person@Example.org"
) -> IncomingEmail:
    event = IncomingEmailEvent(
        email_id="in-1",
        gateway_id="gw",
        department_id=dep.id,
        content=MailContent(
            from_address=sender, from_name="New Person", subject="Hello", text="who am I"
        ),
    )
    row = actions.mail_commands.record_incoming(uow, event)
    assert row is not None
    uow.flush()
    return row
