"""Administrators manage departments, staff, clients, incidents and gateways."""

from __future__ import annotations

from sqlalchemy import select

from schemas import codec
from schemas.events import ClientEntry, DepartmentEntry
from services.ticket_store.models import AuditEntry, Gateway, OutboxEvent
from tests.integration.api.conftest import World


def _events(world: World, topic: str) -> list[OutboxEvent]:
    with world.db.transaction() as s:
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)))


def test_departments(world: World) -> None:
    r = world.post("ann", "/admin/departments", {"name": "Billing", "per_incident": True})
    assert r.status_code == 201, r.text
    dep = r.json()["id"]
    assert world.post("ann", "/admin/departments", {"name": "Billing"}).status_code == 409
    r = world.patch("ann", f"/admin/departments/{dep}", {"show_in_support_center": True})
    assert r.status_code == 200 and r.json()["show_in_support_center"] is True
    last = codec.loads(DepartmentEntry, _events(world, "directory.departments")[-1].value)
    assert (last.department_id, last.show_in_support_center) == (dep, True)
    assert world.patch("ann", "/admin/departments/9999", {"name": "x"}).status_code == 404
    assert world.get("john", "/admin/departments").status_code == 403


def test_staff_and_their_departments(world: World) -> None:
    r = world.post(
        "ann",
        "/admin/staff",
        {
            "name": "Sue",
            "email": "Sue@Company.net",
            "password": "a long password",
            "department_ids": [world.sales],
        },
    )
    assert r.status_code == 201, r.text
    sue = r.json()
    assert sue["email"] == "sue@company.net" and sue["department_ids"] == [world.sales]
    assert "password" not in str(sue)
    r = world.patch("ann", f"/admin/staff/{sue['id']}", {"department_ids": [world.technical]})
    assert r.json()["department_ids"] == [world.technical]
    r = world.post(
        "ann",
        "/admin/staff",
        {"name": "X", "email": "x@company.net", "password": "pw", "department_ids": []},
    )
    assert r.status_code == 422  # too short
    r = world.post(
        "ann",
        "/admin/staff",
        {"name": "X", "email": "y@company.net", "password": "long enough", "department_ids": [999]},
    )
    assert r.status_code == 404
    assert (
        world.patch("ann", f"/admin/staff/{world.ids['ann']}", {"active": False}).status_code == 422
    )
    assert world.post("gary", "/admin/staff", {}).status_code == 403


def test_clients_emails_and_incidents(world: World) -> None:
    r = world.post(
        "ann",
        "/admin/clients",
        {"name": "Erin", "emails": ["Erin@Example.net"], "password": "erin's password"},
    )
    assert r.status_code == 201, r.text
    erin = r.json()
    assert erin["emails"] == ["erin@example.net"] and erin["can_log_in"] is True
    cid = erin["id"]
    assert (
        world.post("ann", f"/admin/clients/{cid}/emails", {"email": "bob@example.org"}).status_code
        == 409
    )
    r = world.post("ann", f"/admin/clients/{cid}/emails", {"email": "erin2@example.net"})
    assert r.status_code == 201 and len(r.json()["emails"]) == 2
    assert world.delete("ann", f"/admin/clients/{cid}/emails/erin2@example.net").status_code == 204
    assert world.delete("ann", f"/admin/clients/{cid}/emails/bob@example.org").status_code == 404
    tombstones = [e for e in _events(world, "directory.clients") if e.value is None]
    assert [t.key for t in tombstones] == ["erin2@example.net"]
    r = world.patch("ann", f"/admin/clients/{cid}", {"name": "Erin B."})
    renamed = codec.loads(ClientEntry, _events(world, "directory.clients")[-1].value)
    assert r.status_code == 200 and renamed.name == "Erin B."

    grant = {"amount": 3, "reason": "first payment", "grant_id": "pay-1"}
    assert world.post("ann", f"/admin/clients/{cid}/incidents", grant).json()["incidents_left"] == 3
    # The same grant id grants once (a retried script).
    assert world.post("ann", f"/admin/clients/{cid}/incidents", grant).json()["incidents_left"] == 3
    r = world.post("ann", f"/admin/clients/{cid}/incidents", {"amount": -1, "reason": "correction"})
    assert r.json()["incidents_left"] == 2 and len(r.json()["grants"]) == 2
    assert world.post("ann", f"/admin/clients/{cid}/incidents", {"amount": 0}).status_code == 422
    assert world.get("ann", "/admin/clients/9999/incidents").status_code == 404
    assert [c["name"] for c in world.get("ann", "/admin/clients?q=erin").json()] == ["Erin B."]


def test_gateways_never_show_the_password(world: World) -> None:
    body = {
        "name": "support",
        "protocol": "imap",
        "host": "imap.company.net",
        "port": 993,
        "username": "support",
        "password": "hunter2-secret",
        "address": "support@company.NET",
        "department_id": world.technical,
    }
    r = world.post("ann", "/admin/gateways", body)
    assert r.status_code == 201, r.text
    assert "hunter2" not in r.text and r.json()["has_password"] is True
    listed = world.get("ann", "/admin/gateways")
    assert "hunter2" not in listed.text and "password_encrypted" not in listed.text
    one = world.get("ann", f"/admin/gateways/{r.json()['id']}")
    assert one.status_code == 200 and "hunter2" not in one.text
    with world.db.transaction() as s:
        gw = s.scalar(select(Gateway))
        assert gw.password_encrypted and "hunter2" not in gw.password_encrypted
    assert all(b"hunter2" not in (e.value or b"") for e in _events(world, "directory.gateways"))
    assert (
        world.post("ann", "/admin/gateways", {**body, "name": "x", "host": ""}).status_code == 422
    )
    assert (
        world.post(
            "ann", "/admin/gateways", {**body, "name": "y", "department_id": 999}
        ).status_code
        == 404
    )
    assert world.get("gary", "/admin/gateways").status_code == 403


def test_gateways_are_edited_and_removed(world: World) -> None:
    body = {
        "name": "support",
        "protocol": "imap",
        "host": "imap.company.net",
        "port": 993,
        "password": "old-secret",
        "address": "support@company.net",
        "department_id": world.technical,
    }
    gid = world.post("ann", "/admin/gateways", body).json()["id"]
    r = world.patch(
        "ann", f"/admin/gateways/{gid}", {"department_id": world.sales, "password": "new-secret"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["department_id"] == world.sales and "new-secret" not in r.text
    with world.db.transaction() as s:
        from kernel.crypto import decrypt

        gw = s.get(Gateway, gid)
        assert decrypt(world.settings, gw.password_encrypted) == "new-secret"
    assert world.patch("ann", f"/admin/gateways/{gid}", {"poll_interval_s": 1}).status_code == 422
    assert world.patch("ann", f"/admin/gateways/{gid}", {"department_id": 999}).status_code == 404
    renamed = world.patch("ann", f"/admin/gateways/{gid}", {"name": "helpdesk"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "helpdesk", renamed.text
    other = {**body, "name": "other", "address": "other@company.net"}
    assert world.post("ann", "/admin/gateways", other).status_code == 201
    assert world.patch("ann", f"/admin/gateways/{gid}", {"name": "other"}).status_code == 409
    assert world.delete("ann", f"/admin/gateways/{gid}").status_code == 204
    assert world.get("ann", f"/admin/gateways/{gid}").status_code == 404
    tomb = [e for e in _events(world, "directory.gateways") if e.key == gid and e.value is None]
    assert len(tomb) == 1


def test_audit_log_records_who_did_what(world: World) -> None:
    world.post("ann", "/admin/departments", {"name": "Abuse"})
    world.post("john", f"/tickets/{world.alice_ticket}/notes", {"text": "n"})
    entries = world.get("ann", "/admin/audit").json()
    actions = {(e["actor"], e["action"]) for e in entries}
    assert (f"staff:{world.ids['ann']}", "department.add") in actions
    assert (f"staff:{world.ids['john']}", "ticket.note") in actions
    with world.db.transaction() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "staff.add"))


def test_an_lmtp_gateway_is_local_and_needs_no_server(world: World) -> None:
    body = {
        "name": "pushed",
        "protocol": "lmtp",
        "address": "desk@company.net",
        "department_id": world.technical,
    }
    r = world.post("ann", "/admin/gateways", body)
    assert r.status_code == 201, r.text
    assert (r.json()["type"], r.json()["protocol"], r.json()["has_password"]) == (
        "local",
        "lmtp",
        False,
    )
    events = [e for e in _events(world, "directory.gateways") if e.value]
    assert any(b'"protocol":"lmtp"' in e.value for e in events)
