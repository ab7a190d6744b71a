"""Staff and tickets: the seed's John and Gary, replies, notes, statuses, attachments."""

from __future__ import annotations

from sqlalchemy import select

from schemas import codec
from schemas.events import IncidentsGranted, OutboundEmail
from schemas.ticket_requests import TicketRequested
from services.ticket_store.models import Message, OutboxEvent
from tests.integration.api.conftest import World


def _numbers(r) -> set[int]:
    assert r.status_code == 200, r.text
    return {t["number"] for t in r.json()}


def _outbox(world: World, topic: str) -> list[OutboxEvent]:
    with world.db.transaction() as s:
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)))


def test_john_handles_technical_tickets_only_and_gary_both(world: World) -> None:
    """The seed: John (Technical) sees and answers Technical tickets only; Gary both."""
    alice, bob = world.alice_ticket, world.bob_ticket  # Technical, Sales
    assert _numbers(world.get("john", "/tickets")) == {alice}
    assert _numbers(world.get("gary", "/tickets")) == {alice, bob}

    assert world.get("john", f"/tickets/{alice}").status_code == 200
    refused = world.get("john", f"/tickets/{bob}")
    assert refused.status_code == 403
    assert "department you do not work in" in refused.json()["detail"]
    assert "Invoice" not in refused.text

    assert (
        world.post("john", f"/tickets/{alice}/replies", {"text": "Rebooting it."}).status_code
        == 201
    )
    assert (
        world.post("john", f"/tickets/{bob}/replies", {"text": "I am not sales"}).status_code == 403
    )
    assert world.post("gary", f"/tickets/{bob}/replies", {"text": "Refunded."}).status_code == 201
    assert world.post("gary", f"/tickets/{alice}/replies", {"text": "Done."}).status_code == 201
    # John's refused reply left no trace.
    with world.db.transaction() as s:
        texts = [m.text for m in s.scalars(select(Message).where(Message.direction == "out"))]
    assert sorted(texts) == ["Done.", "Rebooting it.", "Refunded."]
    # Asking for Sales explicitly is refused, not silently emptied.
    assert world.get("john", f"/tickets?department_id={world.sales}").status_code == 403


def test_administrators_need_department_membership_for_tickets(world: World) -> None:
    assert _numbers(world.get("ann", "/tickets")) == set()
    assert world.get("ann", f"/tickets/{world.alice_ticket}").status_code == 403


def test_reply_queues_a_threaded_email_and_events_in_one_transaction(world: World) -> None:
    r = world.post("john", f"/tickets/{world.alice_ticket}/replies", {"text": "We rebooted it."})
    assert r.status_code == 201, r.text
    assert r.json()["direction"] == "out" and r.json()["delivery_status"] == "queued"
    [row] = _outbox(world, world.settings.topics.outbound)
    out = codec.loads(OutboundEmail, row.value)
    assert row.key == "alice@example.org" == out.to
    assert out.in_reply_to == "<e-alice@client.example>"
    assert out.references == ("<e-alice@client.example>",)
    assert out.ticket_id == "AAAAAAAAAA" and out.subject == "Re: VPS does not boot"
    assert out.message_id.endswith("@desk.test>") and out.outbound_id in out.message_id
    events = [codec.loads_ticket_event(e.value) for e in _outbox(world, "tickets.events")]
    added = [e for e in events if e.type == "message_added" and e.direction == "out"]
    assert [a.email_message_id for a in added] == [out.message_id]
    changed = [e for e in events if e.type == "status_changed"]
    assert [(c.old_status, c.new_status) for c in changed] == [("new", "awaiting_client")]
    detail = world.get("john", f"/tickets/{world.alice_ticket}").json()
    assert detail["status"] == "awaiting_client"


def test_notes_are_for_staff_only(world: World) -> None:
    r = world.post("john", f"/tickets/{world.alice_ticket}/notes", {"text": "client is on plan B"})
    assert r.status_code == 201
    assert _outbox(world, world.settings.topics.outbound) == []  # a note sends no mail
    staff_view = world.get("gary", f"/tickets/{world.alice_ticket}").json()
    assert [m["direction"] for m in staff_view["messages"]] == ["in", "note"]
    client_view = world.get("alice", f"/client/tickets/{world.alice_ticket}").json()
    assert [m["direction"] for m in client_view["messages"]] == ["in"]
    assert "plan B" not in str(client_view)


def test_assign_status_and_close(world: World) -> None:
    n = world.alice_ticket
    r = world.post("john", f"/tickets/{n}/assign")
    assert (
        r.json()["assigned_staff_id"] == world.ids["john"] and r.json()["status"] == "in_progress"
    )
    assert _numbers(world.get("john", "/tickets?assigned=me")) == {n}
    assert _numbers(world.get("gary", "/tickets?assigned=me")) == set()
    assert (
        world.post("john", f"/tickets/{n}/status", {"status": "awaiting_client"}).status_code == 200
    )
    assert world.post("john", f"/tickets/{n}/close").json()["status"] == "closed"
    assert _numbers(world.get("john", "/tickets?status=closed")) == {n}
    # closed → awaiting_client is not a transition a person makes: 422, with the reason.
    r = world.post("john", f"/tickets/{n}/status", {"status": "awaiting_client"})
    assert r.status_code == 422 and "closed" in r.json()["detail"]
    assert world.post("john", f"/tickets/{n}/status", {"status": "archived"}).status_code == 200
    assert world.post("john", f"/tickets/{n}/status", {"status": "bogus"}).status_code == 422


def test_search_by_subject_client_and_number(world: World) -> None:
    assert _numbers(world.get("gary", "/tickets?q=invoice")) == {world.bob_ticket}
    assert _numbers(world.get("gary", "/tickets?q=alice@")) == {world.alice_ticket}
    assert _numbers(world.get("gary", f"/tickets?q={world.bob_ticket}")) == {world.bob_ticket}
    assert _numbers(world.get("john", "/tickets?q=invoice")) == set()


def test_incoming_html_is_sanitised_before_display(world: World) -> None:
    html = world.get("john", f"/tickets/{world.alice_ticket}").json()["messages"][0]["html"]
    assert "<b>help</b>" in html
    assert "script" not in html and "onclick" not in html


def test_attachments_are_downloads_with_safe_types(world: World) -> None:
    path = f"/attachments/{world.attachment}"
    r = world.get("john", path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"  # declared text/html
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert world.get("alice", path).status_code == 200  # her own ticket
    assert world.get("bob", path).status_code == 404
    assert world.get(None, path).status_code == 401
    # A staff member of Sales only may not download a Technical ticket's attachment.
    r = world.post(
        "ann",
        "/admin/staff",
        {
            "name": "Sam",
            "email": "sam@company.net",
            "password": "sales-only-pw",
            "department_ids": [world.sales],
        },
    )
    assert r.status_code == 201
    r = world.app.post(
        "/api/v1/auth/tokens", json={"email": "sam@company.net", "password": "sales-only-pw"}
    )
    sam = {"Authorization": f"Bearer {r.json()['token']}"}
    assert world.app.get(f"/api/v1{path}", headers=sam).status_code == 403


def test_client_opens_tickets_under_the_incident_rule(world: World) -> None:
    body = {"department_id": world.sales, "subject": "Upgrade", "text": "I want more RAM"}
    r = world.post("alice", "/client/tickets", body)
    assert r.status_code == 402 and "Top up" in r.json()["detail"]
    r = world.post("ann", f"/admin/clients/{world.ids['alice']}/incidents", {"amount": 1})
    assert r.status_code == 201 and r.json()["incidents_left"] == 1
    deps = {d["name"]: d for d in world.get("alice", "/client/departments").json()}
    assert (
        deps["Sales"]["incidents_left"] == 1 and deps["Technical support"]["incidents_left"] is None
    )
    assert "Internal" not in deps
    r = world.post("alice", "/client/tickets", body)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert world.post("alice", "/client/tickets", body).status_code == 402
    # Free department: no incident needed; hidden department: not offered.
    free = {"department_id": world.technical, "subject": "Q", "text": "free question"}
    assert world.post("alice", "/client/tickets", free).status_code == 201
    hidden = {"department_id": world.ids["hidden"], "subject": "Q", "text": "x"}
    assert world.post("alice", "/client/tickets", hidden).status_code == 404
    # The router's ledger charged it (one ledger for mail and web): the store asked on
    # tickets.requests, and never charges by itself on billing.incidents any more.
    [asked] = [codec.loads(TicketRequested, e.value) for e in _outbox(world, "tickets.requests")]
    assert asked.client_id == world.ids["alice"] and asked.department_id == world.sales
    adjustments = [
        codec.loads(IncidentsGranted, e.value) for e in _outbox(world, "billing.incidents")
    ]
    assert not [a for a in adjustments if a.amount < 0]
    assert world.get("ann", f"/admin/clients/{world.ids['alice']}").json()["incidents_left"] == 0
    # Gary (Sales) sees it, John does not.
    assert number in _numbers(world.get("gary", "/tickets"))
    assert number not in _numbers(world.get("john", "/tickets"))


def test_client_reply_reopens_and_close(world: World) -> None:
    n = world.alice_ticket
    world.post("john", f"/tickets/{n}/replies", {"text": "Try again?"})
    assert world.get("alice", f"/client/tickets/{n}").json()["status"] == "new_messages"
    r = world.post("alice", f"/client/tickets/{n}/messages", {"text": "Still down."})
    assert r.status_code == 201 and r.json()["status"] == "in_progress"
    assert world.post("alice", f"/client/tickets/{n}/close").json()["status"] == "closed"
    assert world.post("bob", f"/client/tickets/{n}/messages", {"text": "hi"}).status_code == 404
    assert world.get("bob", f"/client/tickets/{n}").status_code == 404


def test_odd_input_gets_a_clear_error_never_a_500(world: World) -> None:
    huge = "99999999999999999999"
    cases = [
        ("GET", f"/tickets/{huge}", None),
        ("GET", "/tickets/abc", None),
        ("POST", f"/tickets/{world.alice_ticket}/replies", {"text": ""}),
        ("POST", f"/tickets/{world.alice_ticket}/replies", {"text": "   "}),
        ("POST", f"/tickets/{world.alice_ticket}/replies", {"txt": "x"}),
        ("POST", f"/tickets/{world.alice_ticket}/status", {"status": 3}),
        ("GET", f"/incoming-emails/{huge}", None),
        ("GET", f"/attachments/{huge}", None),
    ]
    for method, path, body in cases:
        r = world.app.request(method, f"/api/v1{path}", headers=world.as_("john"), json=body)
        assert r.status_code in (404, 422), (method, path, r.status_code, r.text)
        assert "detail" in r.json()
