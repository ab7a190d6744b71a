"""Files attached from the web: kept in the blob store, shown on the ticket, sent with the
reply, limited in size and number, named safely."""

from __future__ import annotations

from sqlalchemy import select

from schemas import codec
from schemas.events import OutboundEmail
from services.ticket_store.models import OutboxEvent
from tests.integration.api.conftest import World


def _upload(world: World, who: str, path: str, text: str, files: list[tuple]):
    return world.app.post(
        f"/api/v1{path}",
        headers=world.as_(who),
        data={"text": text},
        files=[("files", f) for f in files],
    )


def test_staff_reply_with_files_is_stored_shown_and_sent(world: World) -> None:
    n = world.alice_ticket
    files = [
        ("../../etc/re\u202eport.pdf", b"%PDF-1.4 report", "application/pdf"),
        ("notes.txt", b"line one\n", "text/plain"),
    ]
    r = _upload(world, "john", f"/tickets/{n}/replies/with-files", "See attached.", files)
    assert r.status_code == 201, r.text
    atts = r.json()["attachments"]
    assert [(a["filename"], a["size"]) for a in atts] == [("report.pdf", 15), ("notes.txt", 9)]
    with world.db.transaction() as s:
        rows = s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == world.settings.topics.outbound)
        )
        [out] = [codec.loads(OutboundEmail, row.value) for row in rows]
    assert out.text == "See attached." and [a.filename for a in out.attachments] == [
        "report.pdf", "notes.txt"
    ]  # fmt: skip
    # The client downloads what staff attached, from the message in their ticket.
    client_view = world.get("alice", f"/client/tickets/{n}").json()
    reply = next(m for m in client_view["messages"] if m["direction"] == "out")
    got = world.get("alice", f"/attachments/{reply['attachments'][0]['id']}")
    assert got.status_code == 200 and got.content == b"%PDF-1.4 report"
    assert world.get("bob", f"/attachments/{reply['attachments'][0]['id']}").status_code == 404


def test_client_reply_with_a_file(world: World) -> None:
    n = world.alice_ticket
    r = _upload(world, "alice", f"/client/tickets/{n}/messages/with-files", "Log attached",
                [("boot.log", b"kernel panic", "text/plain")])  # fmt: skip
    assert r.status_code == 201, r.text
    staff_view = world.get("john", f"/tickets/{n}").json()
    last = staff_view["messages"][-1]
    assert last["direction"] == "in" and last["attachments"][0]["filename"] == "boot.log"
    assert world.get("john", f"/attachments/{last['attachments'][0]['id']}").content == (
        b"kernel panic"
    )
    other = _upload(world, "bob", f"/client/tickets/{n}/messages/with-files", "x",
                    [("a.txt", b"a", "text/plain")])  # fmt: skip
    assert other.status_code == 404


def test_limits_and_refusals(world: World) -> None:
    n = world.alice_ticket
    path = f"/tickets/{n}/replies/with-files"
    big = b"x" * (world.settings.max_attachment_bytes + 1)
    assert _upload(world, "john", path, "big", [("big.bin", big, "application/x")]).status_code == (
        413
    )
    many = [(f"f{i}.txt", b"x", "text/plain") for i in range(11)]
    assert _upload(world, "john", path, "many", many).status_code == 422
    assert _upload(world, "john", path, "", [("a.txt", b"a", "text/plain")]).status_code == 422
    # Sales staff only for Sales tickets: John may not attach to Bob's ticket.
    bob_path = f"/tickets/{world.bob_ticket}/replies/with-files"
    assert _upload(world, "john", bob_path, "x", [("a.txt", b"a", "text/plain")]).status_code == (
        403
    )
    with world.db.transaction() as s:
        sent = s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == world.settings.topics.outbound)
        ).all()
    assert sent == []  # nothing refused went out
