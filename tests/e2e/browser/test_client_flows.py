"""A client in a real browser: the Support center, and a ticket opened from it."""

from __future__ import annotations

from sqlalchemy import select

from services.ticket_store.models import Ticket
from tests.e2e.browser.conftest import Desk, World


def test_client_opens_a_ticket_in_the_support_center(world: World, desk) -> None:
    alice: Desk = desk()
    page = alice.log_in("alice")
    assert page.url.endswith("/support")
    assert page.locator("header .me").inner_text() == "Alice Client"
    assert page.locator("tr.ticket-row").all_inner_texts()[0].count("VPS does not boot") == 1
    assert "Invoice question" not in page.locator("main").inner_text()  # Bob's ticket
    # Sales is paid per incident and Alice has none left: its notice, and no form.
    page = alice.click("ul.departments a", has_text="Sales")
    assert page.locator(".insufficient").inner_text() == "Top up your support incidents."
    assert page.locator("form[action='/support/tickets']").count() == 0
    page.get_by_label("Department").select_option(label="Technical support")
    page = alice.click("form.filters button")
    page.get_by_label("Subject").fill("Backups missing")
    page.get_by_label("Message").fill("Last night's backup is not listed.")
    page = alice.click("form[action='/support/tickets'] button")
    assert page.locator("p.notice").inner_text() == "Your ticket was opened."
    number = int(page.url.split("/support/tickets/")[1].split("?")[0])
    assert page.locator("h1").inner_text().endswith("Backups missing")
    body = page.locator("ol.thread li.msg-in .body").inner_text().strip()
    assert body == "Last night's backup is not listed."
    with world.db.transaction() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        assert ticket.client_id == world.ids["alice"] and ticket.department_id == world.technical
        assert ticket.subject == "Backups missing" and ticket.status == "new"
        assert [(m.direction, m.text) for m in ticket.messages] == [
            ("in", "Last night's backup is not listed.")
        ]
        assert s.scalars(select(Ticket).where(Ticket.department_id == world.sales)).all() == [
            s.get(Ticket, world.bob_ticket)
        ]
    page = alice.click("header nav a", has_text="Support center")
    assert page.locator("tr.ticket-row").count() == 2
