"""Quality control: a client rates staff replies in their own ticket; administrators
see the ratings per staff member; other staff never see them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.ticket_store import actions
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.models import AuditEntry, Client, ReplyRating, Staff, Ticket
from tests.integration.api.conftest import World


def _reply(world: World, staff: str, number: int, text: str) -> int:
    with world.db.unit_of_work(actor=f"staff:{world.ids[staff]}") as uow:
        return actions.messages.staff_reply(
            uow,
            uow.session.get(Staff, world.ids[staff]),
            uow.session.get(Ticket, number),
            text,
            message_id_domain=world.settings.message_id_domain,
        ).id


def _note(world: World, staff: str, number: int, text: str) -> int:
    with world.db.unit_of_work(actor=f"staff:{world.ids[staff]}") as uow:
        return actions.messages.add_note(
            uow, uow.session.get(Staff, world.ids[staff]), uow.session.get(Ticket, number), text
        ).id


def _first_message(world: World, number: int) -> int:
    with world.db.transaction() as s:
        return s.get(Ticket, number).messages[0].id  # type: ignore[union-attr]


def _rate(world: World, who: str | None, number: int, message: int, body: object):
    return world.post(who, f"/client/tickets/{number}/messages/{message}/rating", body)


def _ratings_in_db(world: World) -> list[tuple[int, int, int, str]]:
    with world.db.transaction() as s:
        rows = s.scalars(select(ReplyRating).order_by(ReplyRating.id))
        return [(r.message_id, r.client_id, r.score, r.comment) for r in rows]


def test_alice_rates_a_reply_and_rating_again_replaces_it(world: World) -> None:
    n = world.alice_ticket
    reply = _reply(world, "john", n, "Reboot it from the panel.")
    r = _rate(world, "alice", n, reply, {"score": 5, "comment": "Very helpful"})
    assert r.status_code == 200, r.text
    assert r.json()["score"] == 5 and r.json()["comment"] == "Very helpful"
    assert r.json()["message_id"] == reply and r.json()["ticket_number"] == n
    r = _rate(world, "alice", n, reply, {"score": 2, "comment": "It did not boot after all"})
    assert r.status_code == 200, r.text
    assert _ratings_in_db(world) == [(reply, world.ids["alice"], 2, "It did not boot after all")]
    # The client's own ticket view shows her rating on that reply, and only on it.
    detail = world.get("alice", f"/client/tickets/{n}").json()
    rated = {m["id"]: m["my_rating"] for m in detail["messages"]}
    assert rated[reply]["score"] == 2 and rated[reply]["comment"] == "It did not boot after all"
    assert [v for k, v in rated.items() if k != reply] == [None]
    # Without a comment the rating still counts; the comment is then empty.
    assert _rate(world, "alice", n, reply, {"score": 4}).status_code == 200
    assert _ratings_in_db(world) == [(reply, world.ids["alice"], 4, "")]
    with world.db.transaction() as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "reply.rate").order_by(AuditEntry.id)
        ).all()
        assert [e.actor for e in entries] == [f"client:{world.ids['alice']}"] * 3
        assert [e.details["score"] for e in entries] == [5, 2, 4]
        assert [e.details["replaced"] for e in entries] == [False, True, True]
        assert {e.object_id for e in entries} == {str(reply)}


def test_only_staff_replies_of_the_clients_own_ticket_can_be_rated(world: World) -> None:
    n, b = world.alice_ticket, world.bob_ticket
    note = _note(world, "john", n, "internal: customer is grumpy")
    incoming = _first_message(world, n)
    bobs_reply = _reply(world, "gary", b, "Your invoice is attached.")
    body = {"score": 5, "comment": "x"}
    # A note does not exist for the client; her own incoming message is not a staff reply.
    r = _rate(world, "alice", n, note, body)
    assert r.status_code == 404 and "grumpy" not in r.text
    assert _rate(world, "alice", n, incoming, body).status_code == 422
    # Bob's ticket and a reply in it do not exist as far as Alice can tell, by either path.
    for number in (n, b):
        r = _rate(world, "alice", number, bobs_reply, body)
        assert r.status_code == 404, (number, r.text)
        assert "invoice" not in r.text.lower() and "detail" in r.json()
    assert _rate(world, "alice", n, 10_000_000, body).status_code == 404
    # Staff and nobody cannot rate at all.
    assert _rate(world, "gary", b, bobs_reply, body).status_code == 403
    assert _rate(world, None, b, bobs_reply, body).status_code == 401
    assert _ratings_in_db(world) == []
    # Bob himself can.
    assert _rate(world, "bob", b, bobs_reply, body).status_code == 200
    assert _ratings_in_db(world) == [(bobs_reply, world.ids["bob"], 5, "x")]


def test_score_and_comment_are_checked(world: World) -> None:
    n = world.alice_ticket
    reply = _reply(world, "john", n, "Done.")
    for body in (
        {"score": 0},
        {"score": 6},
        {"score": -1},
        {"score": "five"},
        {},
        {"score": 3, "comment": "x" * 2001},
        {"score": 3, "extra": True},
    ):
        r = _rate(world, "alice", n, reply, body)
        assert r.status_code == 422, (body, r.text)
    assert _rate(world, "alice", n, reply, {"score": 1, "comment": "x" * 2000}).status_code == 200
    assert _rate(world, "alice", n, reply, {"score": 5}).status_code == 200
    # The service refuses on its own too (for callers other than the API).
    with world.db.unit_of_work(actor=f"client:{world.ids['alice']}") as uow:
        alice = uow.session.get(Client, world.ids["alice"])
        assert alice is not None
        for score in (0, 6):
            with pytest.raises(ValueError):
                actions.ratings.rate_reply(uow, alice, reply, score, "")
        with pytest.raises(ValueError):
            actions.ratings.rate_reply(uow, alice, reply, 3, "y" * 2001)
        with pytest.raises(ValueError):
            actions.ratings.rate_reply(uow, alice, _first_message(world, n), 3, "")
        with pytest.raises(NotFound):
            actions.ratings.rate_reply(uow, alice, reply, 3, "", ticket_number=world.bob_ticket)
    assert [r[2] for r in _ratings_in_db(world)] == [5]


def test_the_report_counts_and_averages_per_staff_member(world: World) -> None:
    n, b = world.alice_ticket, world.bob_ticket
    john_1 = _reply(world, "john", n, "First answer.")
    john_2 = _reply(world, "john", n, "Second answer.")
    gary_a = _reply(world, "gary", n, "Gary's answer.")
    gary_b = _reply(world, "gary", b, "Your invoice.")
    assert world.get("ann", "/admin/ratings").json() == []
    for who, number, msg, score, comment in (
        ("alice", n, john_1, 3, "ok"),
        ("alice", n, john_2, 5, "great"),
        ("alice", n, john_1, 4, "better than I thought"),  # replaces the 3
        ("alice", n, gary_a, 2, "unclear"),
        ("bob", b, gary_b, 5, "fast"),
    ):
        assert (
            _rate(world, who, number, msg, {"score": score, "comment": comment}).status_code == 200
        )
    r = world.get("ann", "/admin/ratings")
    assert r.status_code == 200, r.text
    report = {e["staff_name"]: e for e in r.json()}
    assert set(report) == {"John Smith", "Gary Stark"}
    john, gary = report["John Smith"], report["Gary Stark"]
    assert (john["count"], john["average"]) == (2, 4.5)
    assert (gary["count"], gary["average"]) == (2, 3.5)
    assert john["staff_id"] == world.ids["john"] and gary["staff_id"] == world.ids["gary"]
    assert {
        (x["ticket_number"], x["message_id"], x["score"], x["comment"]) for x in john["recent"]
    } == {
        (n, john_1, 4, "better than I thought"),
        (n, john_2, 5, "great"),
    }
    assert {
        (x["ticket_number"], x["client_name"], x["score"], x["comment"]) for x in gary["recent"]
    } == {
        (n, "Alice Client", 2, "unclear"),
        (b, "Bob Client", 5, "fast"),
    }
    # Newest first; `recent` limits the list, not the count or the average.
    assert [x["message_id"] for x in john["recent"]][0] == john_1
    limited = {e["staff_name"]: e for e in world.get("ann", "/admin/ratings?recent=1").json()}
    assert len(limited["John Smith"]["recent"]) == 1 and limited["John Smith"]["count"] == 2
    # Nobody else sees the report: not staff (even of the departments), not clients.
    for who in ("john", "gary", "alice", "bob"):
        r = world.get(who, "/admin/ratings")
        assert r.status_code == 403, (who, r.text)
        assert "great" not in r.text and "unclear" not in r.text
    assert world.get(None, "/admin/ratings").status_code == 401


def test_staff_ticket_views_never_show_ratings(world: World) -> None:
    n = world.alice_ticket
    reply = _reply(world, "john", n, "Try safe mode.")
    comment = "Zanzibar-unique-comment"
    assert _rate(world, "alice", n, reply, {"score": 1, "comment": comment}).status_code == 200
    for who in ("john", "gary"):
        r = world.get(who, f"/tickets/{n}")
        assert r.status_code == 200, r.text
        assert "Try safe mode." in r.text  # the reply itself is there …
        text = r.text.lower()
        assert comment.lower() not in text  # … but nothing of its rating
        assert "rating" not in text and "score" not in text and "rated" not in text
        listing = world.get(who, "/tickets").text.lower()
        assert comment.lower() not in listing and "rating" not in listing
        assert world.get(who, "/tickets?q=Zanzibar").json() == []
    # The audit log (administrators only) records the rating; staff cannot read it.
    assert world.get("john", "/admin/audit").status_code == 403
    with world.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ReplyRating)) == 1
