"""Every form post carries the session's CSRF token; the pages stay out of the OpenAPI document."""

from __future__ import annotations

from services.ticket_store.models import Ticket
from tests.integration.web.conftest import World, csrf_of, log_in, messages, outbound


def test_a_post_without_or_with_a_wrong_token_is_refused_and_changes_nothing(
    world: World,
) -> None:
    john = log_in(world, "john")
    n = world.alice_ticket
    real = csrf_of(john.get(f"/tickets/{n}").text)
    attempts = [
        (f"/tickets/{n}/reply", {"text": "hello"}),
        (f"/tickets/{n}/note", {"text": "note"}),
        (f"/tickets/{n}/assign", {}),
        (f"/tickets/{n}/status", {"status": "closed"}),
        ("/replies", {"title": "x", "text": "x"}),
    ]
    for path, data in attempts:
        for token in (None, "", "wrong-" + real, real[:-1]):
            form = dict(data) if token is None else {**data, "csrf_token": token}
            r = john.post(path, data=form)
            assert r.status_code == 403, (path, token)
            assert "security token" in r.text
    # The real token is only the one of this session: Alice's does not work for John.
    alice = log_in(world, "alice")
    alices = csrf_of(alice.get("/support").text)
    assert john.post(f"/tickets/{n}/assign", data={"csrf_token": alices}).status_code == 403
    r = alice.post(f"/support/tickets/{n}/close", data={"csrf_token": real})
    assert r.status_code == 403
    assert alice.post("/logout", data={}).status_code == 403
    assert alice.get("/support").status_code == 200  # still logged in
    assert messages(world, n) == [("in", "please help")]
    assert outbound(world) == []
    with world.db.transaction() as s:
        ticket = s.get(Ticket, n)
        assert ticket is not None
        assert ticket.status == "new" and ticket.assigned_staff_id is None


def test_openapi_lists_no_web_page(world: World) -> None:
    paths = world.app.get("/openapi.json").json()["paths"]
    assert paths and all(p.startswith("/api/v1/") for p in paths)
    for page in ("/login", "/logout", "/tickets", "/incoming", "/replies", "/support"):
        assert not any(p == page or p.startswith(page + "/") for p in paths)
    assert world.app.get("/static/style.css").status_code == 200
