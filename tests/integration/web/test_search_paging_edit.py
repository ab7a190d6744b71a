"""Editing a pre-defined reply, searching the Tickets list, paging Tickets and Incoming emails."""

from __future__ import annotations

import html
import re

from schemas.events import IncomingEmail as IncomingEmailEvent
from schemas.events import MailContent
from services.ticket_store import actions
from services.ticket_store.models import PredefinedReply
from tests.integration.web.conftest import World, csrf_of, log_in, mail_ticket


def _reply(world: World, reply_id: int) -> PredefinedReply:
    with world.db.transaction() as s:
        reply = s.get(PredefinedReply, reply_id)
        assert reply is not None
        s.expunge(reply)
        return reply


def _ticket_numbers(page: str) -> list[int]:
    """The ticket numbers listed on a Tickets page, in order."""
    return [
        int(n) for n in re.findall(r'<tr class="ticket-row">\s*<td><a href="/tickets/(\d+)"', page)
    ]


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def test_an_administrator_edits_a_reply_and_the_scope_decides_who_sees_it(world: World) -> None:
    with world.db.unit_of_work() as uow:
        reply_id = actions.predefined_replies.add_predefined_reply(
            uow, "Reboot", "Old text", scope="staff", staff_id=world.ids["gary"]
        ).id
    john, ann = log_in(world, "john"), log_in(world, "ann")
    ticket_page = f"/tickets/{world.alice_ticket}"
    assert "Reboot" not in john.get(ticket_page).text  # Gary's own reply

    listing = ann.get("/replies").text
    assert f'href="/replies/{reply_id}/edit"' in listing
    form = ann.get(f"/replies/{reply_id}/edit")
    assert form.status_code == 200
    assert f'action="/replies/{reply_id}/edit"' in form.text
    assert "Old text</textarea>" in form.text
    token = csrf_of(form.text)

    r = ann.post(
        f"/replies/{reply_id}/edit",
        data={
            "csrf_token": token,
            "title": "Reboot",
            "text": "We rebooted {ticket_subject}.",
            "scope": "department",
            "department_id": str(world.technical),
            "staff_id": str(world.ids["gary"]),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/replies?done=reply-changed"
    assert "The pre-defined reply was changed." in ann.get(r.headers["location"]).text
    saved = _reply(world, reply_id)
    assert (saved.text, saved.scope) == ("We rebooted {ticket_subject}.", "department")
    assert (saved.department_id, saved.staff_id) == (world.technical, None)
    page = john.get(ticket_page).text
    assert "Reboot" in page and "We rebooted VPS does not boot." in page
    assert "Reboot" in john.get("/replies").text

    r = ann.post(
        f"/replies/{reply_id}/edit",
        data={
            "csrf_token": token,
            "title": "Reboot",
            "text": "Sales only now",
            "scope": "department",
            "department_id": str(world.sales),
        },
    )
    assert r.status_code == 303
    assert _reply(world, reply_id).department_id == world.sales
    page = john.get(ticket_page).text
    assert "Reboot" not in page and "Sales only now" not in page
    assert "Reboot" not in john.get("/replies").text

    # The service's and the API model's refusals: shown again, nothing changed.
    bad = ann.post(
        f"/replies/{reply_id}/edit",
        data={"csrf_token": token, "title": "Reboot", "text": "x", "scope": "staff"},
    )
    assert bad.status_code == 422 and "existing staff_id" in bad.text
    assert f'action="/replies/{reply_id}/edit"' in bad.text
    empty = ann.post(
        f"/replies/{reply_id}/edit",
        data={"csrf_token": token, "title": " ", "text": "x", "scope": "all"},
    )
    assert empty.status_code == 422 and "The title has 1 to 200 characters." in empty.text
    assert _reply(world, reply_id).text == "Sales only now"
    missing = ann.post(
        "/replies/999999/edit",
        data={"csrf_token": token, "title": "T", "text": "x", "scope": "all"},
    )
    assert missing.status_code == 404
    assert ann.get("/replies/999999/edit").status_code == 404


def test_a_non_administrator_may_not_edit_a_reply(world: World) -> None:
    with world.db.unit_of_work() as uow:
        reply_id = actions.predefined_replies.add_predefined_reply(uow, "Hello all", "Hi").id
    john = log_in(world, "john")
    listing = john.get("/replies").text
    assert "Hello all" in listing and f"/replies/{reply_id}/edit" not in listing
    assert john.get(f"/replies/{reply_id}/edit").status_code == 403
    r = john.post(
        f"/replies/{reply_id}/edit",
        data={"csrf_token": csrf_of(listing), "title": "Mine", "text": "Changed", "scope": "all"},
    )
    assert r.status_code == 403
    saved = _reply(world, reply_id)
    assert (saved.title, saved.text) == ("Hello all", "Hi")
    # Without the form's token the edit is refused too (CSRF), even for an administrator.
    ann = log_in(world, "ann")
    forged = ann.post(f"/replies/{reply_id}/edit", data={"title": "X", "text": "Y"})
    assert forged.status_code == 403 and _reply(world, reply_id).title == "Hello all"


def test_search_finds_tickets_of_my_departments_only(world: World) -> None:
    john, gary = log_in(world, "john"), log_in(world, "gary")
    by_word = john.get("/tickets", params={"q": "boot"})
    assert by_word.status_code == 200
    assert _ticket_numbers(by_word.text) == [world.alice_ticket]
    assert 'value="boot"' in by_word.text  # the search box keeps the words
    assert _ticket_numbers(john.get("/tickets", params={"q": "ALICE@example.org"}).text) == [
        world.alice_ticket
    ]
    assert _ticket_numbers(john.get("/tickets", params={"q": "Alice Client"}).text) == [
        world.alice_ticket
    ]
    assert _ticket_numbers(john.get("/tickets", params={"q": f"#{world.alice_ticket}"}).text) == [
        world.alice_ticket
    ]
    # Bob's ticket is in Sales: John never finds it, by subject, address, name or number.
    for q in ("Invoice", "bob@example.org", "Bob", str(world.bob_ticket), "example.org"):
        found = _ticket_numbers(john.get("/tickets", params={"q": q}).text)
        assert world.bob_ticket not in found, q
    assert _ticket_numbers(john.get("/tickets", params={"q": "example.org"}).text) == [
        world.alice_ticket
    ]
    none = john.get("/tickets", params={"q": "Invoice"}).text
    assert _ticket_numbers(none) == [] and "No tickets match" in none
    # Gary works in Sales too: the same search finds Bob's ticket for him.
    assert _ticket_numbers(gary.get("/tickets", params={"q": "Invoice"}).text) == [world.bob_ticket]
    # Search and status together.
    assert _ticket_numbers(john.get("/tickets?status=closed&q=boot").text) == []
    assert _ticket_numbers(john.get("/tickets?status=new&q=boot").text) == [world.alice_ticket]


def test_tickets_are_paged_by_fifty_and_the_links_keep_the_filters(world: World) -> None:
    numbers = [
        mail_ticket(
            world.db,
            world.settings,
            email_id=f"e-bulk-{i}",
            ticket_id=f"BULK{i:06d}",
            client_id=world.ids["alice"],
            department_id=world.technical,
            sender="alice@example.org",
            subject=f"Bulk question {i:02d}",
        )
        for i in range(1, 61)
    ]
    newest_first = sorted(numbers, reverse=True)
    john = log_in(world, "john")

    first = john.get("/tickets", params={"status": "new", "q": "Bulk"})
    assert first.status_code == 200
    assert _ticket_numbers(first.text) == newest_first[:50]
    assert _link(first.text, "prev") is None
    older = _link(first.text, "next")
    assert older == "/tickets?status=new&q=Bulk&page=2"

    second = john.get(older)
    assert _ticket_numbers(second.text) == newest_first[50:]
    assert _link(second.text, "next") is None
    assert _link(second.text, "prev") == "/tickets?status=new&q=Bulk"
    assert 'value="Bulk"' in second.text and 'value="new" selected' in second.text

    # Without filters, Alice's first ticket is the 61st, alone on page 2.
    assert len(_ticket_numbers(john.get("/tickets").text)) == 50
    rest = john.get(_link(john.get("/tickets").text, "next") or "")
    assert _ticket_numbers(rest.text) == newest_first[50:] + [world.alice_ticket]
    assert _ticket_numbers(john.get("/tickets?page=3").text) == []
    assert _ticket_numbers(john.get("/tickets?page=nonsense").text) == newest_first[:50]
    # Bob's Sales ticket is never on John's pages.
    assert world.bob_ticket not in _ticket_numbers(rest.text)


def test_incoming_emails_are_paged_by_fifty(world: World) -> None:
    with world.db.unit_of_work() as uow:
        for i in range(1, 56):
            actions.mail_commands.record_incoming(
                uow,
                IncomingEmailEvent(
                    email_id=f"in-bulk-{i}",
                    gateway_id="gw",
                    department_id=world.technical,
                    content=MailContent(
                        from_address=f"sender{i}@newcomer.example",
                        subject=f"Mail {i:02d}",
                        message_id=f"<in-bulk-{i}@newcomer.example>",
                        text="hello",
                    ),
                ),
            )
    john = log_in(world, "john")
    first = john.get("/incoming")
    assert first.text.count('<tr class="incoming-row">') == 50
    older = _link(first.text, "next")
    assert older == "/incoming?status=new&page=2"
    second = john.get(older)
    assert second.text.count('<tr class="incoming-row">') == 5
    assert (
        _link(second.text, "prev") == "/incoming?status=new" and _link(second.text, "next") is None
    )
    subjects = set(re.findall(r"Mail \d\d", first.text)) | set(
        re.findall(r"Mail \d\d", second.text)
    )
    assert len(subjects) == 55
    assert "incoming-row" not in john.get("/incoming?status=spam").text
