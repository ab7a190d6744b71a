"""Staff: the Tickets section, the ticket page and its Auto-reply window, notes, status."""

from __future__ import annotations

import html

from schemas import codec
from schemas.events import OutboundEmail
from services.ticket_store.models import Ticket
from tests.integration.web.conftest import (
    World,
    csrf_of,
    log_in,
    mail_ticket,
    messages,
    outbound,
)


def _add_reply(world: World, title: str, text: str, **scope: object) -> int:
    r = world.post("ann", "/admin/predefined-replies", {"title": title, "text": text, **scope})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_john_sees_technical_tickets_only(world: World) -> None:
    john = log_in(world, "john")
    page = john.get("/tickets")
    assert page.status_code == 200
    assert "VPS does not boot" in page.text and "Alice Client" in page.text
    assert "Invoice question" not in page.text and "Bob Client" not in page.text
    assert page.text.count('class="ticket-row"') == 1
    other = john.get(f"/tickets/{world.bob_ticket}")
    assert other.status_code == 403
    assert "department you do not work in" in other.text
    assert "Invoice question" not in other.text
    assert john.get("/tickets/99999").status_code == 404


def test_gary_sees_both_departments(world: World) -> None:
    gary = log_in(world, "gary")
    page = gary.get("/tickets")
    assert "VPS does not boot" in page.text and "Invoice question" in page.text
    assert page.text.count('class="ticket-row"') == 2
    assert gary.get(f"/tickets/{world.bob_ticket}").status_code == 200
    assert gary.get("/tickets?status=closed").text.count('class="ticket-row"') == 0
    assert gary.get("/tickets?status=new").text.count('class="ticket-row"') == 2


def test_ticket_page_shows_the_client_and_links_attachments(world: World) -> None:
    john = log_in(world, "john")
    page = john.get(f"/tickets/{world.alice_ticket}")
    assert page.status_code == 200
    assert "Alice Client" in page.text and "alice@example.org" in page.text
    link = f"/api/v1/attachments/{world.attachment}"
    assert f'href="{link}"' in page.text and "page.html" in page.text
    # The link is the API's download endpoint, which accepts the page's session cookie.
    download = john.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_john_replies_with_a_predefined_reply(world: World) -> None:
    rid = _add_reply(
        world,
        "Greeting",
        "Dear {client_name}, ticket #{ticket_number}: {staff_name} of {department} here.",
        scope="department",
        department_id=world.technical,
    )
    expected = (
        f"Dear Alice Client, ticket #{world.alice_ticket}: John Smith of Technical support here."
    )
    john = log_in(world, "john")
    page = john.get(f"/tickets/{world.alice_ticket}")
    assert "Greeting" in page.text and html.escape(expected, quote=True) in page.text
    # "Insert into the reply" puts the filled-in text into the reply box.
    filled = john.get(f"/tickets/{world.alice_ticket}?reply={rid}")
    assert f">{html.escape(expected, quote=True)}</textarea>" in filled.text
    assert f'name="predefined_reply_id" value="{rid}"' in filled.text
    r = john.post(
        f"/tickets/{world.alice_ticket}/reply",
        data={"csrf_token": csrf_of(page.text), "predefined_reply_id": str(rid), "text": ""},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/tickets/{world.alice_ticket}?done=replied"
    assert messages(world, world.alice_ticket)[-1] == ("out", expected)
    [row] = outbound(world)
    mail = codec.loads(OutboundEmail, row.value)
    assert mail.text == expected and "alice@example.org" in mail.to.lower()
    after = john.get(r.headers["location"])
    assert "Your reply was sent." in after.text
    with world.db.transaction() as s:
        ticket = s.get(Ticket, world.alice_ticket)
        assert ticket is not None and ticket.status == "awaiting_client"


def test_a_reply_not_available_here_is_refused(world: World) -> None:
    garys = _add_reply(world, "Gary's", "Best, Gary", scope="staff", staff_id=world.ids["gary"])
    john = log_in(world, "john")
    token = csrf_of(john.get("/tickets").text)
    r = john.post(
        f"/tickets/{world.alice_ticket}/reply",
        data={"csrf_token": token, "predefined_reply_id": str(garys), "text": ""},
    )
    assert r.status_code == 404 and "does not exist" in r.text
    assert "Best, Gary" not in r.text
    assert [d for d, _ in messages(world, world.alice_ticket)] == ["in"]
    assert outbound(world) == []


def test_note_assign_and_status(world: World) -> None:
    john = log_in(world, "john")
    n = world.alice_ticket
    token = csrf_of(john.get(f"/tickets/{n}").text)
    r = john.post(f"/tickets/{n}/note", data={"csrf_token": token, "text": "checked the host"})
    assert r.status_code == 303
    assert messages(world, n)[-1] == ("note", "checked the host")
    assert outbound(world) == []  # a note sends no mail
    assert john.post(f"/tickets/{n}/assign", data={"csrf_token": token}).status_code == 303
    r = john.post(f"/tickets/{n}/status", data={"csrf_token": token, "status": "in_progress"})
    assert r.status_code == 303
    with world.db.transaction() as s:
        ticket = s.get(Ticket, n)
        assert ticket is not None
        assert ticket.assigned_staff_id == world.ids["john"] and ticket.status == "in_progress"
    page = john.get(f"/tickets/{n}").text
    assert "assigned to John Smith" in page and "Internal note" in page
    # A transition the service refuses is explained on the page, not as a stack trace.
    bad = john.post(f"/tickets/{n}/status", data={"csrf_token": token, "status": "archived"})
    assert bad.status_code == 409
    assert "cannot go from in_progress to archived" in bad.text
    assert "Traceback" not in bad.text
    empty = john.post(f"/tickets/{n}/reply", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 422 and "The message is empty." in empty.text


def test_markup_in_subjects_and_messages_is_escaped(world: World) -> None:
    number = mail_ticket(
        world.db,
        world.settings,
        email_id="e-xss",
        ticket_id="XXXXXXXXXX",
        client_id=world.ids["alice"],
        department_id=world.technical,
        sender="alice@example.org",
        subject='<script>alert("subject")</script>',
    )
    alice = log_in(world, "alice")
    token = csrf_of(alice.get(f"/support/tickets/{number}").text)
    r = alice.post(
        f"/support/tickets/{number}/reply",
        data={"csrf_token": token, "text": "<script>alert('text')</script><b>bold</b>"},
    )
    assert r.status_code == 303
    john = log_in(world, "john")
    for page in (
        john.get(f"/tickets/{number}").text,
        john.get("/tickets").text,
        alice.get(f"/support/tickets/{number}").text,
        alice.get("/support").text,
    ):
        assert "<script" not in page
        assert "&lt;script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in john.get(f"/tickets/{number}").text
