"""Input the API refuses (issue 10, item 6): one plain address per email field, one-line
names, titles and subjects, no NUL, no null where a value is required, no booleans as
numbers; and a 422 never echoes what was sent (item 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.ticket_store.models import Client, Department, PredefinedReply, ReplyRating
from tests.integration.api.conftest import World

INJECTED = "a@b.c\r\nBcc: x@y.z"


def _refused(r, field: str) -> None:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and any(field in p["loc"] for p in detail), detail
    for problem in detail:
        assert set(problem) == {"loc", "msg", "type"}
    assert "Bcc" not in r.text and "pydantic" not in r.text and "https://" not in r.text


@pytest.mark.parametrize(
    "address", [INJECTED, "Alice <a@b.c>", "a@b.c, d@e.f", "a@b.c;d@e.f", "no-at-sign", "a@b@c"]
)
def test_every_email_field_takes_one_plain_address(world: World, address: str) -> None:
    gateway = {
        "name": "Main",
        "protocol": "maildir",
        "maildir_path": "/tmp/m",
        "department_id": world.technical,
    }
    attempts = [
        ("/admin/clients", {"name": "Carol", "emails": ["carol@example.org", address]}, "emails"),
        (f"/admin/clients/{world.ids['alice']}/emails", {"email": address}, "email"),
        ("/admin/staff", {"name": "Eve", "email": address, "password": "long enough"}, "email"),
        ("/admin/gateways", {**gateway, "address": address}, "address"),
        (
            "/admin/gateways",
            {**gateway, "address": "s@d.e", "extra_addresses": [address]},
            "extra_addresses",
        ),
    ]
    for path, body, field in attempts:
        _refused(world.post("ann", path, json=body), field)
    _refused(world.patch("ann", f"/admin/staff/{world.ids['john']}", {"email": address}), "email")
    with world.db.transaction() as s:
        assert s.scalar(select(Client).where(Client.name == "Carol")) is None


@pytest.mark.parametrize("bad", ["\x00", "Sales\r\nINFO forged", "Sales\nx", "a\rb"])
def test_names_titles_and_subjects_refuse_cr_lf_and_nul(world: World, bad: str) -> None:
    _refused(world.post("ann", "/admin/departments", json={"name": bad}), "name")
    _refused(world.patch("ann", f"/admin/departments/{world.technical}", {"name": bad}), "name")
    _refused(world.post("ann", "/admin/clients", json={"name": bad, "emails": ["c@d.e"]}), "name")
    _refused(
        world.post(
            "ann",
            "/admin/gateways",
            json={
                "name": bad,
                "protocol": "maildir",
                "maildir_path": "/m",
                "address": "s@d.e",
                "department_id": world.technical,
            },
        ),
        "name",
    )
    _refused(
        world.post("ann", "/admin/predefined-replies", json={"title": bad, "text": "t"}), "title"
    )
    _refused(
        world.post(
            "alice",
            "/client/tickets",
            json={"department_id": world.technical, "subject": bad, "text": "hi"},
        ),
        "subject",
    )
    with world.db.transaction() as s:
        names = set(s.scalars(select(Department.name)))
    assert bad not in names and not any("\n" in n or "\0" in n for n in names)


def test_a_client_name_with_cr_lf_is_refused_on_convert(world: World) -> None:
    r = world.post("john", "/incoming-emails/1/convert", json={"client_name": "Carol\r\nX: y"})
    _refused(r, "client_name")


def test_text_with_nul_is_refused_not_a_500(world: World) -> None:
    r = world.post("john", f"/tickets/{world.alice_ticket}/notes", json={"text": "a\x00b"})
    _refused(r, "text")
    r = world.app.post(
        "/api/v1/admin/predefined-replies",
        content=b'{"title": "t", "text": "\\ud800"}',
        headers={**world.as_("ann"), "Content-Type": "application/json"},
    )
    _refused(r, "text")


def test_nulls_are_refused_where_a_value_is_required(world: World) -> None:
    reply = world.post("ann", "/admin/predefined-replies", json={"title": "Hello", "text": "Hi"})
    assert reply.status_code == 201
    rid = reply.json()["id"]
    r = world.patch("ann", f"/admin/predefined-replies/{rid}", {"title": None})
    assert r.status_code == 422 and "title" in str(r.json()["detail"])
    with world.db.transaction() as s:
        assert s.get(PredefinedReply, rid).title == "Hello"
    gw = world.post(
        "ann",
        "/admin/gateways",
        json={
            "name": "Main",
            "protocol": "maildir",
            "maildir_path": "/tmp/m",
            "address": "support@company.net",
            "department_id": world.technical,
        },
    )
    assert gw.status_code == 201, gw.text
    for field in ("address", "name", "department_id", "enabled", "port"):
        r = world.patch("ann", f"/admin/gateways/{gw.json()['id']}", {field: None})
        assert r.status_code == 422, (field, r.text)
    for path in (f"/admin/departments/{world.technical}", f"/admin/clients/{world.ids['bob']}"):
        assert world.patch("ann", path, {"name": None}).status_code == 422
    r = world.post("ann", "/admin/predefined-replies", json={"title": None, "text": "x"})
    assert r.status_code == 422
    # null still means "none" where it has that meaning: a reply for everyone
    ok = world.patch(
        "ann",
        f"/admin/predefined-replies/{rid}",
        {"scope": "all", "department_id": None, "staff_id": None},
    )
    assert ok.status_code == 200, ok.text


def test_booleans_are_not_numbers_nor_text(world: World) -> None:
    reply = world.post("john", f"/tickets/{world.alice_ticket}/replies", json={"text": "Fixed."})
    assert reply.status_code == 201, reply.text
    path = f"/client/tickets/{world.alice_ticket}/messages/{reply.json()['id']}/rating"
    for bad in (True, False, "5", 4.5, None):
        r = world.post("alice", path, json={"score": bad})
        assert r.status_code == 422, (bad, r.text)
    with world.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ReplyRating)) == 0
    assert world.post("alice", path, json={"score": 4}).status_code in (200, 201)
    r = world.post("ann", "/admin/departments", json={"name": "Billing", "per_incident": 1})
    assert r.status_code == 422
    r = world.post("ann", f"/admin/clients/{world.ids['bob']}/incidents", json={"amount": True})
    assert r.status_code == 422
    r = world.post("ann", "/admin/departments", json={"name": 5})
    assert r.status_code == 422


def test_a_422_never_echoes_the_input(world: World) -> None:
    secret = "s3cret-" + "x" * 2000
    cases = [
        world.post(None, "/auth/tokens", json={"email": secret, "password": secret}),
        world.post("ann", "/admin/departments", json={"name": secret, secret[:50]: 1}),
        world.post("ann", "/admin/departments", json=[secret]),
        world.app.post(
            "/api/v1/auth/login",
            content=b'{"email": "' + secret.encode() + b'"',
            headers={"Content-Type": "application/json"},
        ),
        world.app.post(
            "/api/v1/auth/login",
            content=b"\xff\xfe" + secret.encode(),
            headers={"Content-Type": "application/json"},
        ),
    ]
    for r in cases:
        assert r.status_code in (400, 401, 422), r.text
        assert secret[:20] not in r.text and '"input"' not in r.text
        assert "errors.pydantic.dev" not in r.text and "codec" not in r.text
        assert len(r.content) < 2000


def test_a_multipart_message_with_nul_is_refused(world: World) -> None:
    r = world.app.post(
        f"/api/v1/tickets/{world.alice_ticket}/replies/with-files",
        data={"text": "a\x00b"},
        files={"files": ("a.txt", b"hello", "text/plain")},
        headers=world.as_("john"),
    )
    _refused(r, "text")
