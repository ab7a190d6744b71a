"""The Incoming emails section: unknown senders' mail that staff turn into tickets."""

from __future__ import annotations

from sqlalchemy import func, select

from schemas import codec
from schemas.events import Attachment, MailContent
from schemas.events import IncomingEmail as IncomingEmailEvent
from services.ticket_store import actions
from services.ticket_store.models import ClientEmail, IncomingEmail, OutboxEvent, Ticket
from tests.integration.api.conftest import World


def _incoming(world: World, email_id: str, department_id: int, sender: str, subject: str) -> int:
    event = IncomingEmailEvent(
        email_id=email_id,
        gateway_id="gw",
        department_id=department_id,
        content=MailContent(
            from_address=sender,
            from_name="Carol Newcomer",
            subject=subject,
            message_id=f"<{email_id}@newcomer.example>",
            text="Do you sell domains?",
            html='<a href="javascript:alert(1)">link</a><img src=x onerror=alert(1)>',
            attachments=(Attachment(filename="a.txt", content_type="text/plain", size=3),),
        ),
    )
    with world.db.unit_of_work() as uow:
        row = actions.mail_commands.record_incoming(uow, event)
        assert row is not None
        uow.session.flush()
        return row.id


def test_department_staff_list_and_read_only_their_incoming_mail(world: World) -> None:
    tech = _incoming(world, "in-1", world.technical, "carol@newcomer.example", "Domains?")
    sales = _incoming(world, "in-2", world.sales, "dave@newcomer.example", "Prices?")
    ids = lambda who: {x["id"] for x in world.get(who, "/incoming-emails").json()}  # noqa: E731
    assert ids("john") == {tech}
    assert ids("gary") == {tech, sales}
    assert world.get("john", f"/incoming-emails/{sales}").status_code == 403
    detail = world.get("john", f"/incoming-emails/{tech}").json()
    assert detail["from_address"] == "carol@newcomer.example"
    assert "javascript" not in detail["html"] and "onerror" not in detail["html"]
    assert world.get("alice", "/incoming-emails").status_code == 403
    assert world.get(None, f"/incoming-emails/{tech}").status_code == 401


def test_convert_creates_the_client_and_the_ticket(world: World) -> None:
    iid = _incoming(world, "in-3", world.technical, "Carol@Newcomer.example", "Domains?")
    r = world.post("john", f"/incoming-emails/{iid}/convert", {})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["client_name"] == "Carol Newcomer" and ticket["department_id"] == world.technical
    detail = world.get("john", f"/tickets/{ticket['number']}").json()
    assert detail["messages"][0]["text"] == "Do you sell domains?"
    assert detail["messages"][0]["attachments"][0]["filename"] == "a.txt"
    with world.db.transaction() as s:
        assert s.scalar(select(ClientEmail).where(ClientEmail.email == "carol@newcomer.example"))
        row = s.get(IncomingEmail, iid)
        assert (row.status, row.ticket_number, row.handled_by_staff_id) == (
            "converted",
            ticket["number"],
            world.ids["john"],
        )
        # The router learns the new client and the ticket through the outbox.
        keys = {
            e.key
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "directory.clients"))
        }
        assert "carol@newcomer.example" in keys
        opened = [
            codec.loads_ticket_event(e.value)
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "tickets.events"))
        ]
        assert any(e.type == "ticket_opened" and e.ticket_id == ticket["id"] for e in opened)
    # Handled once: a second conversion is a clear conflict.
    again = world.post("john", f"/incoming-emails/{iid}/convert", {})
    assert again.status_code == 409 and "handled already" in again.json()["detail"]


def test_attach_to_an_existing_client_registers_the_address(world: World) -> None:
    iid = _incoming(world, "in-4", world.technical, "alice.other@example.org", "From my other box")
    r = world.post(
        "john",
        f"/incoming-emails/{iid}/attach",
        {"client_id": world.ids["alice"], "register_address": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == world.ids["alice"]
    emails = world.get("ann", f"/admin/clients/{world.ids['alice']}").json()["emails"]
    assert "alice.other@example.org" in emails


def test_attach_to_a_ticket_adds_a_message(world: World) -> None:
    iid = _incoming(world, "in-5", world.technical, "alice.other@example.org", "Re: VPS")
    r = world.post("john", f"/incoming-emails/{iid}/attach", {"ticket_number": world.alice_ticket})
    assert r.status_code == 200, r.text
    msgs = world.get("john", f"/tickets/{world.alice_ticket}").json()["messages"]
    assert len(msgs) == 2 and msgs[1]["from_address"] == "alice.other@example.org"
    # Not into a ticket of a department John does not work in.
    other = _incoming(world, "in-6", world.technical, "x@newcomer.example", "x")
    r = world.post("john", f"/incoming-emails/{other}/attach", {"ticket_number": world.bob_ticket})
    assert r.status_code == 403
    with world.db.transaction() as s:
        assert s.get(IncomingEmail, other).status == "new"
    both = world.post(
        "john", f"/incoming-emails/{other}/attach", {"ticket_number": 1, "client_id": 1}
    )
    assert both.status_code == 422


def test_delete_and_spam(world: World) -> None:
    a = _incoming(world, "in-7", world.technical, "spammer@bad.example", "WIN")
    b = _incoming(world, "in-8", world.technical, "oops@newcomer.example", "test")
    assert world.post("john", f"/incoming-emails/{a}/spam").json()["status"] == "spam"
    assert world.post("john", f"/incoming-emails/{b}/delete").json()["status"] == "deleted"
    assert world.get("john", "/incoming-emails").json() == []
    assert [x["id"] for x in world.get("john", "/incoming-emails?status=spam").json()] == [a]
    assert world.post("john", f"/incoming-emails/{a}/convert", {}).status_code == 409
    with world.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2  # the world's two


def test_convert_refuses_a_known_sender(world: World) -> None:
    iid = _incoming(world, "in-9", world.technical, "bob@example.org", "hello")
    r = world.post("john", f"/incoming-emails/{iid}/convert", {})
    assert r.status_code == 409 and "attach" in r.json()["detail"]
