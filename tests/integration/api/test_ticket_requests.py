"""A paid ticket while the incident ledger has not answered: the API says 202 with where
to ask, the page says the ticket is being opened and looks again; once the ledger
answers, both show the ticket. One ledger for mail and web: the router's (here its code,
run in process on the outbox; tests/integration/router/test_incident_authority.py runs
the real broker and router)."""

from __future__ import annotations

from tests.integration.api.conftest import World
from tests.integration.web.conftest import log_in


def test_a_ticket_waiting_for_the_ledger_is_pending_then_opened(world: World) -> None:
    assert world.ledger is not None
    r = world.post("ann", f"/admin/clients/{world.ids['alice']}/incidents", {"amount": 1})
    assert r.status_code == 201
    world.ledger.step()  # the grant is in the ledger before it pauses
    world.ledger.paused.set()
    world.settings.ticket_decision_wait_s = 0.3
    body = {"department_id": world.sales, "subject": "Upgrade", "text": "More RAM, please"}
    r = world.post("alice", "/client/tickets", body)
    assert r.status_code == 202, r.text
    pending = r.json()
    assert pending["state"] == "pending" and pending["ticket_number"] is None
    location = r.headers["location"]
    assert location == f"/api/v1/client/ticket-requests/{pending['request_id']}"
    assert world.app.get(location, headers=world.as_("bob")).status_code == 404
    alice = log_in(world, "alice")
    page = alice.get(f"/support/requests/{pending['request_id']}")
    assert page.status_code == 200 and "being opened" in page.text
    assert 'http-equiv="refresh"' in page.text and "More RAM" not in page.text
    # No second incident may be asked for while this one is held.
    assert world.post("alice", "/client/tickets", body).status_code == 402
    world.ledger.paused.clear()
    world.settings.ticket_decision_wait_s = 5.0
    page = alice.get(f"/support/requests/{pending['request_id']}")
    assert page.status_code == 303 and page.headers["location"].endswith("?done=opened")
    done = world.app.get(location, headers=world.as_("alice")).json()
    assert done["state"] == "opened" and done["ticket_number"] is not None
    ticket = world.get("alice", f"/client/tickets/{done['ticket_number']}").json()
    assert ticket["subject"] == "Upgrade"
    assert world.get("ann", f"/admin/clients/{world.ids['alice']}").json()["incidents_left"] == 0
