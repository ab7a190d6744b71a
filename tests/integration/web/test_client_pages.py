"""Clients: the Support center, their own tickets, new tickets under the incident rule."""

from __future__ import annotations

from sqlalchemy import func, select

from services.ticket_store import actions
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Ticket
from tests.integration.web.conftest import World, csrf_of, log_in, messages


def _ticket_count(world: World) -> int:
    with world.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Ticket)) or 0


def test_alice_sees_her_tickets_and_the_shown_departments(world: World) -> None:
    alice = log_in(world, "alice")
    page = alice.get("/support")
    assert page.status_code == 200
    assert "VPS does not boot" in page.text and "Invoice question" not in page.text
    assert "Technical support" in page.text and "Sales" in page.text
    assert "Internal" not in page.text  # not shown in the Support center
    # Bob's ticket does not exist as far as Alice can tell.
    other = alice.get(f"/support/tickets/{world.bob_ticket}")
    assert other.status_code == 404 and "Invoice question" not in other.text
    closing = alice.post(
        f"/support/tickets/{world.bob_ticket}/close", data={"csrf_token": csrf_of(page.text)}
    )
    assert closing.status_code == 404
    with world.db.transaction() as s:
        assert s.get(Ticket, world.bob_ticket).status == "new"  # type: ignore[union-attr]


def test_alice_opens_a_ticket_replies_and_closes_it(world: World) -> None:
    alice = log_in(world, "alice")
    form = alice.get(f"/support/new?department_id={world.technical}")
    assert form.status_code == 200 and 'name="subject"' in form.text
    assert "paid per incident" not in form.text  # Technical support is free
    r = alice.post(
        "/support/tickets",
        data={
            "csrf_token": csrf_of(form.text),
            "department_id": str(world.technical),
            "subject": "Backups",
            "text": "Where are my backups?",
        },
    )
    assert r.status_code == 303
    number = int(r.headers["location"].split("/")[-1].split("?")[0])
    # Staff add a note and a reply; Alice sees the reply, never the note nor delivery details.
    john = log_in(world, "john")
    token = csrf_of(john.get(f"/tickets/{number}").text)
    john.post(f"/tickets/{number}/note", data={"csrf_token": token, "text": "internal: disk 3"})
    john.post(f"/tickets/{number}/reply", data={"csrf_token": token, "text": "In /backup."})
    page = alice.get(f"/support/tickets/{number}")
    assert page.status_code == 200
    assert "Where are my backups?" in page.text and "In /backup." in page.text
    assert "internal: disk 3" not in page.text and "Internal note" not in page.text
    assert "queued" not in page.text and "desk.test" not in page.text
    token = csrf_of(page.text)
    r = alice.post(f"/support/tickets/{number}/reply", data={"csrf_token": token, "text": "Thanks"})
    assert r.status_code == 303
    assert messages(world, number)[-1] == ("in", "Thanks")
    r = alice.post(f"/support/tickets/{number}/close", data={"csrf_token": token})
    assert r.status_code == 303
    with world.db.transaction() as s:
        assert s.get(Ticket, number).status == "closed"  # type: ignore[union-attr]
    assert "Closed" in alice.get(f"/support/tickets/{number}").text


def test_no_incidents_left_shows_the_departments_notice(world: World) -> None:
    alice = log_in(world, "alice")
    page = alice.get(f"/support/new?department_id={world.sales}")
    assert page.status_code == 200
    assert "Top up your support incidents." in page.text
    assert 'name="subject"' not in page.text  # no form to fill in
    before = _ticket_count(world)
    r = alice.post(
        "/support/tickets",
        data={
            "csrf_token": csrf_of(page.text),
            "department_id": str(world.sales),
            "subject": "Prices",
            "text": "How much?",
        },
    )
    assert r.status_code == 402 and "Top up your support incidents." in r.text
    assert _ticket_count(world) == before


def test_paid_department_warns_and_uses_an_incident(world: World) -> None:
    with world.db.unit_of_work() as uow:
        actions.clients.grant_incidents(uow, world.ids["alice"], 2, reason="test")
    alice = log_in(world, "alice")
    page = alice.get(f"/support/new?department_id={world.sales}")
    assert "paid per incident" in page.text and 'class="balance">2<' in page.text
    r = alice.post(
        "/support/tickets",
        data={
            "csrf_token": csrf_of(page.text),
            "department_id": str(world.sales),
            "subject": "Prices",
            "text": "How much?",
        },
    )
    assert r.status_code == 303
    assert 'class="balance">1<' in alice.get("/support").text
    with world.db.transaction() as s:
        assert incident_balance(s, world.ids["alice"]) == 1
    # The incident ledger decides (the router's, for mail too); its page waits for it.
    asked = r.headers["location"]
    assert asked.startswith("/support/requests/")
    opened = alice.get(asked)
    assert opened.status_code == 303 and opened.headers["location"].endswith("?done=opened")
    page = alice.get(opened.headers["location"])
    assert "How much?" in page.text and 'class="balance">1<' in alice.get("/support").text
    # Only Alice may look at her request; staff have no Support center.
    assert log_in(world, "bob").get(asked).status_code == 404
    assert log_in(world, "john").get(asked).status_code == 403
    # A department not shown in the Support center takes no tickets.
    hidden = alice.post(
        "/support/tickets",
        data={
            "csrf_token": csrf_of(page.text),
            "department_id": str(world.ids["hidden"]),
            "subject": "x",
            "text": "x",
        },
    )
    assert hidden.status_code == 404 and "does not exist" in hidden.text
