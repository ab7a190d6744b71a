"""Quality control in the pages: Alice rates John's reply on her ticket page, Ann sees it on
/admin/ratings, John (and Gary) never see it."""

from __future__ import annotations

import re

from sqlalchemy import select

from services.ticket_store.models import ReplyRating, Ticket
from tests.integration.web.conftest import World, csrf_of, log_in

COMMENT = "Quick and to the point, thanks John"


def _staff_reply_id(world: World, number: int) -> int:
    with world.db.transaction() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        return [m.id for m in ticket.messages if m.direction == "out"][-1]


def _ratings(world: World) -> list[tuple[int, int, str]]:
    with world.db.transaction() as s:
        return [(r.message_id, r.score, r.comment) for r in s.scalars(select(ReplyRating))]


def test_alice_rates_johns_reply_ann_sees_it_john_does_not(world: World) -> None:
    n = world.alice_ticket
    john = log_in(world, "john")
    token = csrf_of(john.get(f"/tickets/{n}").text)
    r = john.post(
        f"/tickets/{n}/reply", data={"csrf_token": token, "text": "Reboot from the panel."}
    )
    assert r.status_code == 303
    reply = _staff_reply_id(world, n)

    alice = log_in(world, "alice")
    page = alice.get(f"/support/tickets/{n}")
    assert page.status_code == 200
    action = f"/support/tickets/{n}/messages/{reply}/rating"
    assert f'action="{action}"' in page.text
    assert page.text.count('name="score"') == 5  # one reply: 1–5 radio buttons
    assert "Your rating" not in page.text
    csrf = csrf_of(page.text)
    # Without the form's token nothing is stored.
    assert alice.post(action, data={"score": "4", "comment": COMMENT}).status_code == 403
    # A score outside 1–5 is refused with the reason, on the same page.
    bad = alice.post(action, data={"csrf_token": csrf, "score": "6", "comment": COMMENT})
    assert bad.status_code == 422 and "score from 1 to 5" in bad.text
    assert _ratings(world) == []
    r = alice.post(action, data={"csrf_token": csrf, "score": "4", "comment": COMMENT})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/support/tickets/{n}#m{reply}"
    assert _ratings(world) == [(reply, 4, COMMENT)]
    page = alice.get(f"/support/tickets/{n}")
    assert "Your rating: 4/5" in page.text and COMMENT in page.text
    assert re.search(r'value="4" required checked', page.text)
    # Rating again replaces the rating.
    r = alice.post(action, data={"csrf_token": csrf, "score": "5", "comment": COMMENT})
    assert r.status_code == 303
    assert _ratings(world) == [(reply, 5, COMMENT)]

    ann = log_in(world, "ann")
    assert "/admin/ratings" in ann.get("/admin").text
    report = ann.get("/admin/ratings")
    assert report.status_code == 200
    assert "John Smith" in report.text and COMMENT in report.text
    assert "5/5" in report.text and "5.00" in report.text and f"#{n}" in report.text
    assert report.text.count('class="rating-row"') == 1

    # Staff see the reply but nothing of its rating, and not the report.
    for who in ("john", "gary"):
        browser = john if who == "john" else log_in(world, "gary")
        ticket_page = browser.get(f"/tickets/{n}")
        assert ticket_page.status_code == 200
        assert "Reboot from the panel." in ticket_page.text
        assert COMMENT not in ticket_page.text
        assert "/rating" not in ticket_page.text and "Your rating" not in ticket_page.text
        assert 'name="score"' not in ticket_page.text
        refused = browser.get("/admin/ratings")
        assert refused.status_code == 403 and COMMENT not in refused.text
    assert alice.get("/admin/ratings").status_code == 403
    assert log_in(world, "bob").get("/admin/ratings").status_code == 403


def test_bob_cannot_rate_a_reply_in_alices_ticket(world: World) -> None:
    n = world.alice_ticket
    john = log_in(world, "john")
    token = csrf_of(john.get(f"/tickets/{n}").text)
    john.post(f"/tickets/{n}/reply", data={"csrf_token": token, "text": "Only for Alice."})
    reply = _staff_reply_id(world, n)
    bob = log_in(world, "bob")
    csrf = csrf_of(bob.get("/support").text)
    data = {"csrf_token": csrf, "score": "1", "comment": "spite"}
    for number in (n, world.bob_ticket):
        r = bob.post(f"/support/tickets/{number}/messages/{reply}/rating", data=data)
        assert r.status_code == 404, (number, r.status_code)
        assert "Only for Alice." not in r.text
    assert _ratings(world) == []
