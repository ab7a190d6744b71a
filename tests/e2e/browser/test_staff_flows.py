"""Staff in a real browser: log in, the ticket list, one ticket, a reply from a pre-defined
reply, and an incoming email converted to a client and a ticket."""

from __future__ import annotations

from sqlalchemy import select

from services.ticket_store import actions
from services.ticket_store.models import AuditEntry, AuthToken, ClientEmail, IncomingEmail, Ticket
from tests.e2e.browser.conftest import Desk, World, incoming_email
from tests.integration.web.conftest import messages, outbound


def test_staff_logs_in_lists_tickets_and_opens_one(world: World, desk) -> None:
    john: Desk = desk()
    page = john.log_in("john")
    assert page.url.endswith("/tickets")
    assert page.locator("header .me").inner_text() == "John Smith"
    rows = page.locator("tr.ticket-row")
    assert rows.count() == 1  # Bob's Sales ticket is not John's department
    assert "VPS does not boot" in rows.first.inner_text()
    page = john.click("tr.ticket-row a", has_text="VPS does not boot")
    assert page.url.endswith(f"/tickets/{world.alice_ticket}")
    assert page.locator("h1").inner_text() == f"#{world.alice_ticket} VPS does not boot"
    assert page.locator("ol.thread li.msg-in .body").inner_text().strip() == "please help"
    with world.db.transaction() as s:
        sessions = s.scalars(
            select(AuthToken).where(AuthToken.kind == "session", AuthToken.revoked.is_(False))
        ).all()
        assert [t.staff_id for t in sessions] == [world.ids["john"]]
        ticket = s.get(Ticket, world.alice_ticket)
        assert ticket is not None and ticket.status == "new"


def test_staff_replies_with_a_predefined_reply(world: World, desk) -> None:
    with world.db.unit_of_work() as uow:
        reboot = actions.predefined_replies.add_predefined_reply(
            uow, "Reboot", "Dear {client_name}, ticket {ticket_number}: please reboot."
        ).id
        actions.predefined_replies.add_predefined_reply(
            uow, "Refund", "Refunded", scope="department", department_id=world.sales
        )
    john: Desk = desk()
    john.sign_in(world, "john")
    page = john.goto(f"/tickets/{world.alice_ticket}")
    picker = page.get_by_label("Pre-defined reply")
    assert picker.locator("option").all_inner_texts() == ["Reboot"]  # not Sales' Refund
    picker.select_option(label="Reboot")
    page = john.click("section.autoreply button[type=submit]")
    filled = f"Dear Alice Client, ticket {world.alice_ticket}: please reboot."
    assert page.locator("form.reply textarea[name=text]").input_value() == filled
    page = john.click("form.reply button", has_text="Send reply")
    assert page.locator("p.notice").inner_text() == "Your reply was sent."
    shown = page.locator("ol.thread li.msg-out")
    assert shown.count() == 1 and shown.locator(".body").inner_text().strip() == filled
    assert "Awaiting the client" in page.locator("h1 + p .status").inner_text()
    assert messages(world, world.alice_ticket)[-1] == ("out", filled)
    with world.db.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.reply")).one()
        assert entry.details["predefined_reply"] == reboot
        assert s.get(Ticket, world.alice_ticket).status == "awaiting_client"  # type: ignore[union-attr]
    sent = outbound(world)
    assert len(sent) == 1 and sent[0].key == "alice@example.org"
    assert filled.encode() in (sent[0].value or b"")


def test_staff_converts_an_incoming_email(world: World, desk) -> None:
    incoming = incoming_email(world, "in-1", world.technical, "Carol@Newcomer.example", "Domains?")
    incoming_email(world, "in-2", world.sales, "dave@newcomer.example", "Reseller prices")
    john: Desk = desk()
    john.sign_in(world, "john")
    page = john.goto("/tickets")
    page = john.click("header nav a", has_text="Incoming emails")
    rows = page.locator("tr.incoming-row")
    assert rows.count() == 1 and "Carol@Newcomer.example" in rows.first.inner_text()
    page = john.click("tr.incoming-row td a", has_text="Domains?")
    assert page.locator("h1").inner_text() == "Domains?"
    assert "Do you sell domains?" in page.locator(".main-col .body").inner_text()
    page.get_by_label("Client's name").fill("Carol N.")
    page = john.click("form[action$='/convert'] button")
    assert page.locator("p.notice").inner_text() == "The email is now a ticket."
    number = int(page.url.split("/tickets/")[1].split("?")[0])
    assert page.locator("h1").inner_text() == f"#{number} Domains?"
    assert page.locator("section.client .name").inner_text() == "Carol N."
    with world.db.transaction() as s:
        entry = s.scalar(select(ClientEmail).where(ClientEmail.email == "carol@newcomer.example"))
        assert entry is not None and entry.client.name == "Carol N."
        ticket = s.get(Ticket, number)
        assert ticket is not None and ticket.client_id == entry.client_id
        assert ticket.department_id == world.technical and ticket.subject == "Domains?"
        assert s.get(IncomingEmail, incoming).status == "converted"  # type: ignore[union-attr]
    page = john.goto("/incoming")
    assert page.locator("tr.incoming-row").count() == 0
