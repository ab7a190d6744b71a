"""Pre-defined replies: every staff member, one department's staff, or one person (the seed)."""

from __future__ import annotations

from schemas import codec
from schemas.events import OutboundEmail
from tests.integration.api.conftest import World


def _add(world: World, title: str, text: str, **scope: object) -> int:
    r = world.post("ann", "/admin/predefined-replies", {"title": title, "text": text, **scope})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _titles(r) -> set[str]:
    assert r.status_code == 200, r.text
    return {x["title"] for x in r.json()}


def test_scopes_for_john_and_gary(world: World) -> None:
    _add(world, "Hello", "Dear {client_name}", scope="all")
    _add(world, "Reboot", "We rebooted.", scope="department", department_id=world.technical)
    _add(world, "Refund", "Refund issued.", scope="department", department_id=world.sales)
    _add(world, "John's", "Cheers, John", scope="staff", staff_id=world.ids["john"])
    _add(world, "Gary's", "Best, Gary", scope="staff", staff_id=world.ids["gary"])

    assert _titles(world.get("john", "/predefined-replies")) == {"Hello", "Reboot", "John's"}
    assert _titles(world.get("gary", "/predefined-replies")) == {
        "Hello",
        "Reboot",
        "Refund",
        "Gary's",
    }
    # In a ticket's Auto-reply window only that ticket's department's replies are offered.
    tech, sales = world.alice_ticket, world.bob_ticket
    gary_tech = _titles(world.get("gary", f"/tickets/{tech}/predefined-replies"))
    assert gary_tech == {"Hello", "Reboot", "Gary's"}
    assert _titles(world.get("gary", f"/tickets/{sales}/predefined-replies")) == {
        "Hello",
        "Refund",
        "Gary's",
    }
    assert _titles(world.get("john", f"/tickets/{tech}/predefined-replies")) == {
        "Hello",
        "Reboot",
        "John's",
    }
    assert world.get("john", f"/tickets/{sales}/predefined-replies").status_code == 403
    # Clients and anonymous callers see none.
    assert world.get("alice", "/predefined-replies").status_code == 403
    assert world.get(None, "/predefined-replies").status_code == 401


def test_placeholders_are_filled_and_sent(world: World) -> None:
    rid = _add(
        world,
        "Greeting",
        "Dear {client_name}, about ticket #{ticket_number} ({ticket_subject}): "
        "{staff_name} of {department} here. {unknown} stays.",
    )
    tech = world.alice_ticket
    [offered] = world.get("john", f"/tickets/{tech}/predefined-replies").json()
    expected = (
        f"Dear Alice Client, about ticket #{tech} (VPS does not boot): "
        "John Smith of Technical support here. {unknown} stays."
    )
    assert offered["filled_text"] == expected
    assert offered["text"].startswith("Dear {client_name}")
    r = world.post("john", f"/tickets/{tech}/predefined-replies/{rid}/send")
    assert r.status_code == 201 and r.json()["text"] == expected
    with world.db.transaction() as s:
        from sqlalchemy import select

        from services.ticket_store.models import OutboxEvent

        [row] = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "mail.outbound"))
        assert codec.loads(OutboundEmail, row.value).text == expected


def test_someone_elses_personal_reply_cannot_be_sent(world: World) -> None:
    garys = _add(world, "Gary's", "Best, Gary", scope="staff", staff_id=world.ids["gary"])
    sales = _add(world, "Refund", "Refunded", scope="department", department_id=world.sales)
    tech = world.alice_ticket
    assert world.post("john", f"/tickets/{tech}/predefined-replies/{garys}/send").status_code == 404
    # Gary may not use a Sales reply in a Technical ticket either.
    assert world.post("gary", f"/tickets/{tech}/predefined-replies/{sales}/send").status_code == 404
    assert world.post("gary", f"/tickets/{tech}/predefined-replies/{garys}/send").status_code == 201


def test_scope_must_name_its_department_or_staff(world: World) -> None:
    bad = [
        {"title": "x", "text": "x", "scope": "department"},
        {"title": "x", "text": "x", "scope": "staff", "staff_id": 9999},
        {"title": "x", "text": "x", "scope": "everyone"},
    ]
    for body in bad:
        r = world.post("ann", "/admin/predefined-replies", body)
        assert r.status_code == 422, (body, r.text)
    assert world.post("john", "/admin/predefined-replies", bad[0]).status_code == 403


def test_admin_edits_and_deletes_replies(world: World) -> None:
    rid = _add(world, "Hello", "Hi")
    r = world.patch(
        "ann",
        f"/admin/predefined-replies/{rid}",
        {"scope": "department", "department_id": world.sales},
    )
    assert r.status_code == 200 and r.json()["scope"] == "department"
    assert _titles(world.get("john", "/predefined-replies")) == set()
    assert world.delete("ann", f"/admin/predefined-replies/{rid}").status_code == 204
    assert world.delete("ann", f"/admin/predefined-replies/{rid}").status_code == 404
