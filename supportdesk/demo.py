"""Demo data for `make run`: the seed's example, with mail waiting in a local mailbox."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from kernel.config import Settings

if TYPE_CHECKING:
    from services.ticket_store.unit_of_work import UnitOfWork

DEMO_MAILS = [
    (
        "Alice Client <alice@example.org>",
        "support@company.net",
        "VPS does not boot",
        "Hello, my VPS has been down since this morning. Can you look?",
    ),
    (
        "bob@example.org",
        "support@company.net",
        "Invoice question",
        "Hi, why was I charged twice this month?",
    ),
    (
        "Stranger <someone@unknown.example>",
        "support@company.net",
        "Do you sell domains?",
        "I am not a client yet. Do you sell .net domains?",
    ),
    (
        "alice@example.org",
        "sales@company.com",
        "Not for this gateway",
        "This went to another address and is ignored by the support gateway.",
    ),
    ("alice@example.org", "support@company.net", "", "   "),
]


# Sales sells per-incident support: Alice has incidents, Bob has none.
SALES_MAILS = [
    (
        "alice@example.org",
        "sales@company.com",
        "Upgrade to a bigger plan",
        "Please move my VPS to the 8 GB plan.",
    ),
    (
        "Bob Client <bob@example.org>",
        "sales@company.com",
        "Discount?",
        "Can I get a discount for a yearly plan?",
    ),
]


def write_maildir(path: Path, mails: list[tuple[str, str, str, str]] = DEMO_MAILS) -> int:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i, (sender, to, subject, body) in enumerate(mails):
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain="example.org")
        msg.set_content(body)
        (path / "new" / f"demo-{i}.eml").write_bytes(bytes(msg))
    return len(mails)


def _local_gateway(
    uow: UnitOfWork,
    name: str,
    box: Path,
    address: str,
    department_id: int,
    mails: list[tuple[str, str, str, str]],
) -> int:
    """A local (Maildir) gateway with the demo mail waiting in its mailbox."""
    from services.ticket_store import actions

    n = write_maildir(box.resolve(), mails)
    actions.gateways.add_gateway(
        uow,
        name=name,
        type="local",
        protocol="maildir",
        maildir_path=str(box.resolve()),
        address=address,
        department_id=department_id,
        poll_interval_s=10,
        after_fetch="mark-read",
        enabled=True,
    )
    return n


def load(settings: Settings, var: Path) -> None:
    from services.ticket_store import actions
    from services.ticket_store.db import Database
    from services.ticket_store.models import Department

    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        if uow.session.scalar(select(Department).where(Department.name == "Technical support")):
            print("demo data present already")
            return
        tech = actions.departments.add_department(
            uow, "Technical support", show_in_support_center=True
        )
        sales = actions.departments.add_department(
            uow,
            "Sales",
            show_in_support_center=True,
            per_incident=True,
            insufficient_notice="You have no support incidents left. Top up to open a ticket.",
        )
        alice = actions.clients.add_client(uow, "Alice Client", ["Alice@Example.org"])
        bob = actions.clients.add_client(uow, "Bob Client", ["bob@example.org"])
        actions.clients.grant_incidents(uow, alice.id, 3, reason="demo")
        for client, password in ((alice, "alice-demo"), (bob, "bob-demo")):
            actions.clients.update_client(uow, client.id, password=password)
        n = _local_gateway(
            uow, "demo-support", var / "demo-mailbox", "support@company.NET", tech.id, DEMO_MAILS
        )
        # The seed's example: John in Technical support, Gary in both.
        actions.staff.add_staff(uow, "Admin", "admin@company.net", "admin-demo", is_admin=True)
        john = actions.staff.add_staff(
            uow, "John Smith", "john@company.net", "john-demo", department_ids=[tech.id]
        )
        actions.staff.add_staff(
            uow, "Gary Stark", "gary@company.net", "gary-demo", department_ids=[tech.id, sales.id]
        )
        actions.predefined_replies.add_predefined_reply(
            uow,
            "Greeting",
            "Hello {client_name}, thank you for writing to us about ticket #{ticket_number}.",
            scope="all",
        )
        actions.predefined_replies.add_predefined_reply(
            uow,
            "Reboot",
            "We rebooted your server; please check again.",
            scope="department",
            department_id=tech.id,
        )
        actions.predefined_replies.add_predefined_reply(
            uow, "John's signature", "Best regards,\nJohn", scope="staff", staff_id=john.id
        )
        n += _local_gateway(
            uow,
            "demo-sales",
            var / "demo-sales-mailbox",
            "sales@company.com",
            sales.id,
            SALES_MAILS,
        )
        print(
            f"demo: departments {tech.name!r}, {sales.name!r} (per-incident); clients Alice "
            f"(3 incidents) and Bob (none); {n} mails waiting in "
            f"{(var / 'demo-mailbox').resolve()} and {(var / 'demo-sales-mailbox').resolve()}"
        )
        print(
            "demo logins (web at /login, API at /api/v1): staff admin@company.net / admin-demo, "
            "john@company.net / john-demo (Technical), gary@company.net / gary-demo (both); "
            "clients alice@example.org / alice-demo, bob@example.org / bob-demo"
        )
