"""A change made in the web pages names the person and the request on tickets.events:
the actor is the logged-in staff member or client, the cause the form post's
X-Request-ID (or the id the store gave it, echoed in the response)."""

from __future__ import annotations

from sqlalchemy import select

from schemas import codec
from services.ticket_store.models import OutboxEvent, Ticket
from tests.integration.web.conftest import World, csrf_of, log_in


def _events(world: World, number: int) -> list:
    with world.db.transaction() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        values = s.scalars(
            select(OutboxEvent.value)
            .where(OutboxEvent.topic == world.settings.topics.ticket_events)
            .where(OutboxEvent.key == ticket.id)
            .order_by(OutboxEvent.id)
        ).all()
    return [codec.loads_ticket_event(v) for v in values]


def test_form_posts_are_the_cause_of_their_events(world: World) -> None:
    n = world.alice_ticket
    before = _events(world, n)
    john = log_in(world, "john")
    token = csrf_of(john.get(f"/tickets/{n}").text)
    r = john.post(
        f"/tickets/{n}/note",
        data={"csrf_token": token, "text": "checked"},
        headers={"X-Request-ID": "web-note-1"},
    )
    assert r.status_code == 303 and r.headers["x-request-id"] == "web-note-1"
    r = john.post(f"/tickets/{n}/assign", data={"csrf_token": token})
    assigned_by = r.headers["x-request-id"]  # none sent: the store made one
    alice = log_in(world, "alice")
    token = csrf_of(alice.get(f"/support/tickets/{n}").text)
    r = alice.post(
        f"/support/tickets/{n}/reply",
        data={"csrf_token": token, "text": "still down"},
        headers={"X-Request-ID": "web-client-1"},
    )
    assert r.status_code == 303, r.text

    new = _events(world, n)[len(before) :]
    staff, client = f"staff:{world.ids['john']}", f"client:{world.ids['alice']}"
    assert [(e.type, e.actor, e.cause) for e in new] == [
        ("message_added", staff, "request:web-note-1"),
        ("assigned", staff, f"request:{assigned_by}"),
        ("status_changed", staff, f"request:{assigned_by}"),
        ("message_added", client, "request:web-client-1"),
    ]
    first = before[-1].sequence if before else 0
    assert [e.sequence for e in new] == list(range(first + 1, first + 1 + len(new)))
