"""The Incoming emails section and the Pre-defined replies page."""

from __future__ import annotations

from sqlalchemy import select

from schemas.events import IncomingEmail as IncomingEmailEvent
from schemas.events import MailContent
from services.ticket_store import actions
from services.ticket_store.models import ClientEmail, IncomingEmail, PredefinedReply, Ticket
from tests.integration.web.conftest import World, csrf_of, log_in, messages


def _incoming(
    world: World,
    email_id: str,
    department_id: int,
    sender: str,
    subject: str,
    text: str = "Do you sell domains?",
) -> int:
    event = IncomingEmailEvent(
        email_id=email_id,
        gateway_id="gw",
        department_id=department_id,
        content=MailContent(
            from_address=sender,
            from_name="Carol Newcomer",
            subject=subject,
            message_id=f"<{email_id}@newcomer.example>",
            text=text,
            html='<p onclick="x()">Do you sell <b>domains</b>?</p><script>alert(1)</script>',
        ),
    )
    with world.db.unit_of_work() as uow:
        row = actions.mail_commands.record_incoming(uow, event)
        assert row is not None
        uow.session.flush()
        return row.id


def _status(world: World, incoming_id: int) -> str:
    with world.db.transaction() as s:
        row = s.get(IncomingEmail, incoming_id)
        assert row is not None
        return row.status


def test_incoming_list_and_convert_to_a_client(world: World) -> None:
    tech = _incoming(world, "in-1", world.technical, "Carol@Newcomer.example", "Domains?")
    sales = _incoming(world, "in-2", world.sales, "dave@newcomer.example", "Reseller prices")
    john, gary = log_in(world, "john"), log_in(world, "gary")
    page = john.get("/incoming")
    assert page.status_code == 200
    assert "Domains?" in page.text and "Carol@Newcomer.example" in page.text
    assert "Reseller prices" not in page.text
    assert "Reseller prices" in gary.get("/incoming").text
    assert john.get(f"/incoming/{sales}").status_code == 403
    detail = john.get(f"/incoming/{tech}")
    assert detail.status_code == 200 and "Do you sell domains?" in detail.text
    refused = john.post(f"/incoming/{sales}/convert", data={"csrf_token": csrf_of(detail.text)})
    assert refused.status_code == 403 and _status(world, sales) == "new"
    r = john.post(
        f"/incoming/{tech}/convert",
        data={"csrf_token": csrf_of(detail.text), "client_name": "Carol N."},
    )
    assert r.status_code == 303
    number = int(r.headers["location"].split("/")[-1].split("?")[0])
    with world.db.transaction() as s:
        entry = s.scalar(select(ClientEmail).where(ClientEmail.email == "carol@newcomer.example"))
        assert entry is not None and entry.client.name == "Carol N."
        ticket = s.get(Ticket, number)
        assert ticket is not None
        assert ticket.client_id == entry.client_id and ticket.department_id == world.technical
        assert ticket.subject == "Domains?"
        assert s.get(IncomingEmail, tech).status == "converted"  # type: ignore[union-attr]
    assert "The email is now a ticket." in john.get(r.headers["location"]).text
    assert "Domains?" not in john.get("/incoming").text


def test_a_refused_action_rolls_back_and_explains(world: World) -> None:
    # The sender is a known client: the service refuses after it marked the mail handled.
    known = _incoming(world, "in-3", world.technical, "bob@example.org", "hello again")
    john = log_in(world, "john")
    token = csrf_of(john.get(f"/incoming/{known}").text)
    r = john.post(f"/incoming/{known}/convert", data={"csrf_token": token})
    assert r.status_code == 409 and "belongs to a client already" in r.text
    assert _status(world, known) == "new"
    # Attaching it to Bob's Sales ticket is not John's to do; to Alice's is.
    r = john.post(
        f"/incoming/{known}/attach-ticket",
        data={"csrf_token": token, "ticket_number": str(world.bob_ticket)},
    )
    assert r.status_code == 403 and _status(world, known) == "new"
    r = john.post(
        f"/incoming/{known}/attach-client",
        data={"csrf_token": token, "client": "nobody@nowhere.example"},
    )
    assert r.status_code == 404 and _status(world, known) == "new"
    r = john.post(
        f"/incoming/{known}/attach-ticket",
        data={"csrf_token": token, "ticket_number": str(world.alice_ticket)},
    )
    assert r.status_code == 303
    assert messages(world, world.alice_ticket)[-1] == ("in", "Do you sell domains?")
    assert _status(world, known) == "converted"


def test_attach_to_a_client_and_discard(world: World) -> None:
    a = _incoming(world, "in-4", world.technical, "alice.other@example.org", "Other box")
    b = _incoming(world, "in-5", world.technical, "spammer@bad.example", "WIN")
    john = log_in(world, "john")
    token = csrf_of(john.get("/incoming").text)
    r = john.post(
        f"/incoming/{a}/attach-client",
        data={"csrf_token": token, "client": "alice@example.org", "register_address": "1"},
    )
    assert r.status_code == 303
    with world.db.transaction() as s:
        entry = s.scalar(select(ClientEmail).where(ClientEmail.email == "alice.other@example.org"))
        assert entry is not None and entry.client_id == world.ids["alice"]
    r = john.post(f"/incoming/{b}/discard", data={"csrf_token": token, "status": "spam"})
    assert r.status_code == 303 and _status(world, b) == "spam"
    assert "WIN" in john.get("/incoming?status=spam").text


def test_replies_page_scopes_and_only_administrators_add(world: World) -> None:
    john, ann = log_in(world, "john"), log_in(world, "ann")
    with world.db.unit_of_work() as uow:
        actions.predefined_replies.add_predefined_reply(uow, "Hello all", "Hi")
        actions.predefined_replies.add_predefined_reply(
            uow, "Refund", "Refunded", scope="department", department_id=world.sales
        )
        actions.predefined_replies.add_predefined_reply(
            uow, "Gary's own", "Best", scope="staff", staff_id=world.ids["gary"]
        )
    page = john.get("/replies")
    assert page.status_code == 200 and "Hello all" in page.text
    assert "Refund" not in page.text and "Gary's own" not in page.text
    assert 'action="/replies"' not in page.text  # no add form for John
    r = john.post("/replies", data={"csrf_token": csrf_of(page.text), "title": "Mine", "text": "x"})
    assert r.status_code == 403
    admin_page = ann.get("/replies")
    assert 'action="/replies"' in admin_page.text and "Gary&#39;s own" in admin_page.text
    token = csrf_of(admin_page.text)
    r = ann.post(
        "/replies",
        data={
            "csrf_token": token,
            "title": "Reboot",
            "text": "We rebooted {ticket_subject}.",
            "scope": "department",
            "department_id": str(world.technical),
        },
    )
    assert r.status_code == 303
    bad = ann.post(
        "/replies",
        data={"csrf_token": token, "title": "Nobody's", "text": "x", "scope": "staff"},
    )
    assert bad.status_code == 422 and "existing staff_id" in bad.text
    with world.db.transaction() as s:
        rows = {r.title: r for r in s.scalars(select(PredefinedReply))}
    assert set(rows) == {"Hello all", "Refund", "Gary's own", "Reboot"}
    assert rows["Reboot"].scope == "department"
    assert rows["Reboot"].department_id == world.technical
    assert "Reboot" in john.get("/replies").text


def test_an_html_only_email_is_shown_sanitised(world: World) -> None:
    iid = _incoming(world, "in-6", world.technical, "erin@newcomer.example", "HTML", text="")
    john = log_in(world, "john")
    listing = john.get("/incoming").text
    assert f'action="/incoming/{iid}/convert"' in listing
    page = john.get(f"/incoming/{iid}").text
    assert "Do you sell <b>domains</b>?" in page
    assert "<script" not in page and "onclick" not in page
