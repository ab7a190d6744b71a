"""The seed's world on a real database (SQLite and PostgreSQL), served by the real app.

Technical support and Sales; John works in Technical only, Gary in both
(the seed's example), Ann is an administrator in no department; Alice and Bob
are clients with a ticket each: Alice's in Technical, Bob's in Sales.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas.events import Attachment, MailContent, OpenTicket
from services.ticket_store import actions, auth
from services.ticket_store.auth import LoginLimit
from services.ticket_store.db import Database, upgrade
from services.ticket_store.http import create_app
from services.ticket_store.models import Client, Staff
from tests.integration.inproc_ledger import InProcessLedger

PASSWORD = "correct horse battery"


@dataclass
class World:
    settings: Settings
    db: Database
    app: TestClient
    technical: int = 0
    sales: int = 0
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    alice_ticket: int = 0
    bob_ticket: int = 0
    attachment: int = 0
    # The router's incident ledger, run in process on the outbox (pause it to keep a paid
    # ticket pending).
    ledger: InProcessLedger | None = None

    def as_(self, who: str | None) -> dict[str, str]:
        """Headers of a bearer token for john, gary, ann, alice, bob; None is anonymous."""
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str | None, path: str, **kw):
        return self.app.get(f"/api/v1{path}", headers=self.as_(who), **kw)

    def post(self, who: str | None, path: str, json: object | None = None, **kw):
        return self.app.post(f"/api/v1{path}", headers=self.as_(who), json=json, **kw)

    def patch(self, who: str | None, path: str, json: object | None = None):
        return self.app.patch(f"/api/v1{path}", headers=self.as_(who), json=json)

    def delete(self, who: str | None, path: str):
        return self.app.delete(f"/api/v1{path}", headers=self.as_(who))


def mail_ticket(
    db: Database,
    settings: Settings,
    *,
    email_id: str,
    ticket_id: str,
    client_id: int,
    department_id: int,
    sender: str,
    subject: str,
    attachments: tuple[Attachment, ...] = (),
) -> int:
    with db.unit_of_work() as uow:
        ticket = actions.mail_commands.open_ticket_from_mail(
            uow,
            OpenTicket(
                email_id=email_id,
                gateway_id="gw",
                ticket_id=ticket_id,
                client_id=client_id,
                department_id=department_id,
                content=MailContent(
                    from_address=sender,
                    subject=subject,
                    message_id=f"<{email_id}@client.example>",
                    text="please help",
                    html='<p onclick="steal()">please <b>help</b><script>alert(1)</script></p>',
                    attachments=attachments,
                ),
            ),
        )
        assert ticket is not None
        return ticket.number


@pytest.fixture
def world(database_url: str, tmp_path) -> Iterator[World]:
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        blob_dir=tmp_path / "blobs",
        message_id_domain="desk.test",
        secret_key="x" * 43 + "=",
    )
    db = Database(database_url, topics=settings.topics)
    blob = BlobStore(settings.blob_dir).put(b"<html><script>alert(1)</script></html>")
    with db.unit_of_work() as uow:
        tech = actions.departments.add_department(
            uow, "Technical support", show_in_support_center=True
        )
        sales = actions.departments.add_department(
            uow,
            "Sales",
            show_in_support_center=True,
            per_incident=True,
            insufficient_notice="Top up your support incidents.",
        )
        hidden = actions.departments.add_department(uow, "Internal", show_in_support_center=False)
        john = actions.staff.add_staff(
            uow, "John Smith", "john@company.net", PASSWORD, department_ids=[tech.id]
        )
        gary = actions.staff.add_staff(
            uow, "Gary Stark", "gary@company.net", PASSWORD, department_ids=[tech.id, sales.id]
        )
        ann = actions.staff.add_staff(uow, "Ann Admin", "ann@company.net", PASSWORD, is_admin=True)
        alice = actions.clients.add_client(uow, "Alice Client", ["alice@example.org"])
        bob = actions.clients.add_client(uow, "Bob Client", ["bob@example.org"])
        for c in (alice, bob):
            actions.clients.update_client(uow, c.id, password=PASSWORD)
        ids = {
            "john": john.id,
            "gary": gary.id,
            "ann": ann.id,
            "alice": alice.id,
            "bob": bob.id,
            "hidden": hidden.id,
        }
        tokens = {}
        for name, person in (("john", john), ("gary", gary), ("ann", ann)):
            tokens[name], _ = auth.issue(uow.session, staff=person, kind="bearer")
        for name, person in (("alice", alice), ("bob", bob)):
            tokens[name], _ = auth.issue(uow.session, client=person, kind="bearer")
        tech_id, sales_id = tech.id, sales.id
    alice_ticket = mail_ticket(
        db,
        settings,
        email_id="e-alice",
        ticket_id="AAAAAAAAAA",
        client_id=ids["alice"],
        department_id=tech_id,
        sender="Alice@Example.org",
        subject="VPS does not boot",
        attachments=(
            Attachment(filename="page.html", content_type="text/html", size=38, blob_ref=blob),
        ),
    )
    bob_ticket = mail_ticket(
        db,
        settings,
        email_id="e-bob",
        ticket_id="BBBBBBBBBB",
        client_id=ids["bob"],
        department_id=sales_id,
        sender="bob@example.org",
        subject="Invoice question",
    )
    with db.transaction() as s:
        from services.ticket_store.models import Ticket

        attachment = s.get(Ticket, alice_ticket).messages[0].attachments[0].id
    app = create_app(
        settings, db, login_limit=LoginLimit(per_identity_ip=3, per_identity=6, per_ip=50)
    )
    # Paid tickets are decided by the router's ledger: here its code, run on the outbox.
    with TestClient(app) as client, InProcessLedger(db) as ledger:
        yield World(
            settings=settings,
            db=db,
            app=client,
            technical=tech_id,
            sales=sales_id,
            ids=ids,
            tokens=tokens,
            alice_ticket=alice_ticket,
            bob_ticket=bob_ticket,
            attachment=attachment,
            ledger=ledger,
        )
    db.dispose()


__all__ = ["PASSWORD", "Client", "Staff", "World", "mail_ticket"]
