"""The administrators' pages: departments, staff, mail gateways, clients (Ann is the admin)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kernel.crypto import decrypt
from services.ticket_store.models import (
    Client,
    ClientEmail,
    Department,
    Gateway,
    IncidentGrant,
    Staff,
)
from tests.integration.web.conftest import World, csrf_of, log_in

ADMIN_PAGES = (
    "/admin",
    "/admin/departments",
    "/admin/staff",
    "/admin/gateways",
    "/admin/gateways/new",
    "/admin/gateways/new?type=external",
    "/admin/clients",
)
GW_PASSWORD = "s3cret-Gateway-Pa55"


def _counts(world: World) -> tuple[int, ...]:
    with world.db.transaction() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (Department, Staff, Gateway, IncidentGrant, ClientEmail)
        )


def _gateway_form(world: World, csrf: str, **over: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "type": "external",
        "name": "Support mailbox",
        "protocol": "imap",
        "host": "imap.company.net",
        "port": "993",
        "security": "tls",
        "verify_tls": "1",
        "username": "support@company.net",
        "password": GW_PASSWORD,
        "folder": "INBOX",
        "address": "support@company.net",
        "extra_addresses": "help@company.net",
        "department_id": str(world.technical),
        "poll_interval_s": "120",
        "after_fetch": "delete",
        "enabled": "1",
    }
    form.update(over)
    return form


def _add_gateway(world: World, ann: TestClient) -> str:
    step2 = ann.get("/admin/gateways/new?type=external")
    r = ann.post("/admin/gateways", data=_gateway_form(world, csrf_of(step2.text)))
    assert r.status_code == 303, r.text
    return r.headers["location"].split("/")[-1].split("?")[0]


def test_only_administrators_see_and_change_the_admin_pages(world: World) -> None:
    ann, john, alice = log_in(world, "ann"), log_in(world, "john"), log_in(world, "alice")
    gw = _add_gateway(world, ann)
    assert 'href="/admin"' in ann.get("/tickets").text
    assert 'href="/admin"' not in john.get("/tickets").text
    pages = (
        *ADMIN_PAGES,
        f"/admin/departments/{world.technical}",
        f"/admin/staff/{world.ids['john']}",
        f"/admin/gateways/{gw}",
        f"/admin/gateways/{gw}/delete",
        f"/admin/clients/{world.ids['bob']}",
    )
    for page in pages:
        assert ann.get(page).status_code == 200, page
        r = john.get(page)
        assert r.status_code == 403, page
        assert "administrators only" in r.text and "imap.company.net" not in r.text
        assert alice.get(page).status_code == 403, page
    before = _counts(world)
    token = csrf_of(john.get("/tickets").text)
    posts = [
        ("/admin/departments", {"name": "Hacked"}),
        (f"/admin/departments/{world.sales}", {"name": "Hacked", "show_in_support_center": "1"}),
        ("/admin/staff", {"name": "Eve", "email": "eve@x.org", "password": "x" * 10}),
        (f"/admin/staff/{world.ids['john']}", {"name": "John", "is_admin": "1", "active": "1"}),
        ("/admin/gateways", _gateway_form(world, token, name="Evil")),
        (f"/admin/gateways/{gw}", _gateway_form(world, token, host="evil.example")),
        (f"/admin/gateways/{gw}/delete", {"confirm": "yes"}),
        (f"/admin/clients/{world.ids['bob']}/incidents", {"amount": "50"}),
        (f"/admin/clients/{world.ids['bob']}/emails", {"email": "eve@evil.example"}),
        (f"/admin/clients/{world.ids['bob']}/emails/remove", {"email": "bob@example.org"}),
        (f"/admin/clients/{world.ids['bob']}", {"name": "Eve", "comment": "owned"}),
        ("/admin/clients", {"name": "Eve", "emails": "eve@evil.example"}),
    ]
    for path, data in posts:
        r = john.post(path, data={**data, "csrf_token": token})
        assert r.status_code == 403, path
        assert "administrators only" in r.text
    assert _counts(world) == before
    with world.db.transaction() as s:
        john_row = s.get(Staff, world.ids["john"])
        assert john_row is not None and not john_row.is_admin
        sales = s.get(Department, world.sales)
        assert sales is not None and sales.name == "Sales"
        gateway = s.get(Gateway, gw)
        assert gateway is not None and gateway.host == "imap.company.net"
        bob = s.get(Client, world.ids["bob"])
        assert bob is not None and bob.name == "Bob Client" and bob.comment == ""


def test_an_admin_post_without_or_with_a_wrong_csrf_token_is_refused(world: World) -> None:
    ann = log_in(world, "ann")
    real = csrf_of(ann.get("/admin/departments").text)
    before = _counts(world)
    for token in (None, "", "wrong-" + real):
        extra = {} if token is None else {"csrf_token": token}
        r = ann.post("/admin/departments", data={"name": "Billing", **extra})
        assert r.status_code == 403 and "security token" in r.text
        r = ann.post(f"/admin/clients/{world.ids['bob']}/incidents", data={"amount": "2", **extra})
        assert r.status_code == 403
    assert _counts(world) == before


def test_show_in_the_support_center_check_box(world: World) -> None:
    ann, alice = log_in(world, "ann"), log_in(world, "alice")
    csrf = csrf_of(ann.get("/admin/departments").text)
    r = ann.post(
        "/admin/departments",
        data={
            "csrf_token": csrf,
            "name": "Domains",
            "show_in_support_center": "1",
            "per_incident": "1",
            "insufficient_notice": "Buy a support package first.",
        },
    )
    assert r.status_code == 303
    dep_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    edit = ann.get(r.headers["location"])
    assert "The department was added." in edit.text
    assert re.search(r'name="show_in_support_center" value="1"\s+checked', edit.text)
    assert "Buy a support package first." in edit.text
    assert f"department_id={dep_id}" in alice.get("/support").text
    # Unticking the box (browsers then do not send the field) hides it again.
    r = ann.post(
        f"/admin/departments/{dep_id}",
        data={"csrf_token": csrf, "name": "Domains", "per_incident": "1"},
    )
    assert r.status_code == 303
    assert f"department_id={dep_id}" not in alice.get("/support").text
    with world.db.transaction() as s:
        dep = s.get(Department, dep_id)
        assert dep is not None
        assert not dep.show_in_support_center and dep.per_incident
        assert dep.insufficient_notice == ""  # the whole form is saved, as typed
    # The API's refusals come back on the page: a duplicate name, an empty name.
    dup = ann.post("/admin/departments", data={"csrf_token": csrf, "name": "Sales"})
    assert dup.status_code == 409 and "exists" in dup.text
    empty = ann.post(f"/admin/departments/{dep_id}", data={"csrf_token": csrf, "name": " "})
    assert empty.status_code == 422 and "name" in empty.text


def test_a_new_staff_member_works_in_the_ticked_departments(world: World) -> None:
    ann = log_in(world, "ann")
    csrf = csrf_of(ann.get("/admin/staff").text)
    form = {
        "csrf_token": csrf,
        "name": "Nina New",
        "email": "Nina@Company.net",
        "password": "nina's long password",
        "department_ids": [str(world.technical), str(world.sales)],
        "active": "1",
    }
    short = ann.post("/admin/staff", data={**form, "password": "short"})
    assert short.status_code == 422 and "password" in short.text
    assert "nina's long password" not in short.text
    r = ann.post("/admin/staff", data=form)
    assert r.status_code == 303, r.text
    nina_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    page = ann.get(f"/admin/staff/{nina_id}")
    assert "nina&#39;s long password" not in page.text and "nina's long password" not in page.text
    assert "Nina New" in ann.get("/admin/staff").text

    nina = TestClient(world.app.app, follow_redirects=False)
    login = nina.get("/login")
    r = nina.post(
        "/login",
        data={
            "email": "nina@company.net",
            "password": "nina's long password",
            "role": "staff",
            "login_token": csrf_of(login.text, "login_token"),
        },
    )
    assert r.status_code == 303
    tickets = nina.get("/tickets").text
    assert "VPS does not boot" in tickets and "Invoice question" in tickets
    assert 'href="/admin"' not in tickets and nina.get("/admin").status_code == 403

    # Edit: Sales only; an empty password keeps hers; the box unticked deactivates.
    r = ann.post(
        f"/admin/staff/{nina_id}",
        data={**form, "password": "", "department_ids": [str(world.sales)]},
    )
    assert r.status_code == 303
    tickets = nina.get("/tickets").text
    assert "Invoice question" in tickets and "VPS does not boot" not in tickets
    r = ann.post(f"/admin/staff/{nina_id}", data={**form, "password": "", "active": ""})
    assert r.status_code == 303
    assert nina.get("/tickets").status_code == 303  # logged out
    # As in the API, Ann cannot drop her own admin rights or deactivate herself.
    me = {"csrf_token": csrf, "name": "Ann Admin", "email": "ann@company.net", "active": "1"}
    r = ann.post(f"/admin/staff/{world.ids['ann']}", data=me)
    assert r.status_code == 422 and "admin rights" in r.text
    with world.db.transaction() as s:
        ann_row = s.get(Staff, world.ids["ann"])
        assert ann_row is not None and ann_row.is_admin and ann_row.active


def test_an_external_imap_gateway_in_two_steps_never_shows_its_password(world: World) -> None:
    ann = log_in(world, "ann")
    step1 = ann.get("/admin/gateways/new")
    assert 'name="type" value="external"' in step1.text and 'value="local"' in step1.text
    assert 'name="host"' not in step1.text
    step2 = ann.get("/admin/gateways/new?type=external")
    assert 'name="host"' in step2.text and 'name="password"' in step2.text
    assert 'name="maildir_path"' not in step2.text
    local = ann.get("/admin/gateways/new?type=local")
    assert 'name="maildir_path"' in local.text and 'name="host"' not in local.text
    csrf = csrf_of(step2.text)
    seen: list[str] = []
    # The API's refusals, shown on step 2 again without the password.
    r = ann.post("/admin/gateways", data=_gateway_form(world, csrf, port=""))
    assert r.status_code == 422 and "host and port" in r.text
    seen.append(r.text)
    r = ann.post("/admin/gateways", data=_gateway_form(world, csrf, poll_interval_s="5"))
    assert r.status_code == 422 and "poll_interval_s" in r.text
    seen.append(r.text)
    gw = _add_gateway(world, ann)
    with world.db.transaction() as s:
        row = s.get(Gateway, gw)
        assert row is not None
        stored = row.password_encrypted
        assert (row.type, row.protocol, row.host, row.port) == (
            "external",
            "imap",
            "imap.company.net",
            993,
        )
        assert row.after_fetch == "delete" and row.poll_interval_s == 120
        assert row.extra_addresses == ["help@company.net"] and row.department_id == world.technical
    assert stored and GW_PASSWORD not in stored
    assert decrypt(world.settings, stored) == GW_PASSWORD
    listing = ann.get("/admin/gateways")
    assert "Support mailbox" in listing.text and "IMAP" in listing.text
    assert "support@company.net" in listing.text and "delete from the server" in listing.text
    edit = ann.get(f"/admin/gateways/{gw}")
    assert "a password is stored" in edit.text
    seen += [listing.text, edit.text]
    # Saving with an empty password keeps the stored one (the very same encrypted value).
    r = ann.post(
        f"/admin/gateways/{gw}",
        data=_gateway_form(world, csrf, password="", host="mail.company.net", enabled=""),
    )
    assert r.status_code == 303, r.text
    seen.append(ann.get(r.headers["location"]).text)
    with world.db.transaction() as s:
        row = s.get(Gateway, gw)
        assert row is not None
        assert row.password_encrypted == stored
        assert row.host == "mail.company.net" and not row.enabled
    for page in ADMIN_PAGES + (f"/admin/gateways/{gw}/delete",):
        seen.append(ann.get(page).text)
    for text in seen:
        assert GW_PASSWORD not in text and stored not in text
    # A new password replaces it.
    r = ann.post(f"/admin/gateways/{gw}", data=_gateway_form(world, csrf, password="new-one-123"))
    assert r.status_code == 303
    with world.db.transaction() as s:
        row = s.get(Gateway, gw)
        assert row is not None
        assert decrypt(world.settings, row.password_encrypted) == "new-one-123"
    # Renaming keeps the gateway (same id, same password).
    r = ann.post(
        f"/admin/gateways/{gw}", data=_gateway_form(world, csrf, name="Helpdesk box", password="")
    )
    assert r.status_code == 303, r.text
    with world.db.transaction() as s:
        row = s.get(Gateway, gw)
        assert row is not None and row.name == "Helpdesk box"
        assert decrypt(world.settings, row.password_encrypted) == "new-one-123"


def test_deleting_a_gateway_needs_the_confirmation(world: World) -> None:
    ann = log_in(world, "ann")
    gw = _add_gateway(world, ann)
    confirm = ann.get(f"/admin/gateways/{gw}/delete")
    assert confirm.status_code == 200 and 'name="confirm" value="yes"' in confirm.text
    csrf = csrf_of(confirm.text)
    r = ann.post(f"/admin/gateways/{gw}/delete", data={"csrf_token": csrf})
    assert r.status_code == 422 and "Confirm" in r.text
    with world.db.transaction() as s:
        assert s.get(Gateway, gw) is not None
    r = ann.post(f"/admin/gateways/{gw}/delete", data={"csrf_token": csrf, "confirm": "yes"})
    assert r.status_code == 303
    assert "The mail gateway was deleted." in ann.get(r.headers["location"]).text
    with world.db.transaction() as s:
        assert s.get(Gateway, gw) is None
    assert ann.get(f"/admin/gateways/{gw}").status_code == 404


def test_a_local_gateway_reads_a_maildir(world: World) -> None:
    ann = log_in(world, "ann")
    csrf = csrf_of(ann.get("/admin/gateways/new?type=local").text)
    form = {
        "csrf_token": csrf,
        "type": "local",
        "name": "Local sales",
        "address": "sales@company.net",
        "department_id": str(world.sales),
        "enabled": "1",
    }
    r = ann.post("/admin/gateways", data=form)
    assert r.status_code == 422 and "maildir_path" in r.text
    r = ann.post("/admin/gateways", data={**form, "maildir_path": "/var/mail/sales"})
    assert r.status_code == 303
    with world.db.transaction() as s:
        row = s.scalar(select(Gateway).where(Gateway.name == "Local sales"))
        assert row is not None
        assert (row.type, row.protocol, row.maildir_path) == ("local", "maildir", "/var/mail/sales")
        assert row.password_encrypted == "" and row.after_fetch == "mark-read"
        gw = row.id
    edit = ann.get(f"/admin/gateways/{gw}")
    assert 'value="/var/mail/sales"' in edit.text and 'name="host"' not in edit.text
    r = ann.post(
        f"/admin/gateways/{gw}",
        data={**form, "maildir_path": "/srv/mail/sales", "poll_interval_s": "60"},
    )
    assert r.status_code == 303, r.text
    with world.db.transaction() as s:
        row = s.get(Gateway, gw)
        assert row is not None
        assert (row.maildir_path, row.poll_interval_s) == ("/srv/mail/sales", 60)


def test_adding_a_client(world: World) -> None:
    ann = log_in(world, "ann")
    csrf = csrf_of(ann.get("/admin/clients").text)
    form = {"csrf_token": csrf, "name": "Carol", "emails": "carol@a.example\nCarol@B.example"}
    taken = ann.post("/admin/clients", data={**form, "emails": "bob@example.org"})
    assert taken.status_code == 409 and "registered to a client already" in taken.text
    r = ann.post("/admin/clients", data=form)
    assert r.status_code == 303, r.text
    page = ann.get(r.headers["location"])
    assert "carol@a.example" in page.text and "carol@b.example" in page.text
    assert "no Support center login" in page.text
    assert "Carol" in ann.get("/admin/clients").text
    with world.db.transaction() as s:
        carols = s.scalars(select(Client).where(Client.name == "Carol")).all()
        assert len(carols) == 1  # the refused attempt was rolled back


def test_incidents_emails_and_comment_of_a_client(world: World) -> None:
    ann, bob = log_in(world, "ann"), log_in(world, "bob")
    bob_id = world.ids["bob"]
    page = ann.get(f"/admin/clients/{bob_id}")
    csrf = csrf_of(page.text)
    r = ann.post(
        f"/admin/clients/{bob_id}/incidents",
        data={"csrf_token": csrf, "amount": "2", "reason": "goodwill"},
    )
    assert r.status_code == 303
    page = ann.get(r.headers["location"])
    assert '<strong class="balance">2</strong>' in page.text and "goodwill" in page.text
    assert '<strong class="balance">2</strong>' in bob.get("/support").text
    listing = ann.get("/admin/clients?q=bob")
    assert "Bob Client" in listing.text and "Alice Client" not in listing.text
    assert '<td class="incidents">2</td>' in listing.text
    zero = ann.post(f"/admin/clients/{bob_id}/incidents", data={"csrf_token": csrf, "amount": "0"})
    assert zero.status_code == 422 and "must not be zero" in zero.text
    r = ann.post(f"/admin/clients/{bob_id}/incidents", data={"csrf_token": csrf, "amount": "-1"})
    assert r.status_code == 303
    assert '<strong class="balance">1</strong>' in bob.get("/support").text

    r = ann.post(
        f"/admin/clients/{bob_id}/emails", data={"csrf_token": csrf, "email": "Bob@Work.example"}
    )
    assert r.status_code == 303
    taken = ann.post(
        f"/admin/clients/{bob_id}/emails", data={"csrf_token": csrf, "email": "alice@example.org"}
    )
    assert taken.status_code == 409 and "registered to a client already" in taken.text
    alices = ann.post(
        f"/admin/clients/{bob_id}/emails/remove",
        data={"csrf_token": csrf, "email": "alice@example.org"},
    )
    assert alices.status_code == 404
    r = ann.post(
        f"/admin/clients/{bob_id}/emails/remove",
        data={"csrf_token": csrf, "email": "bob@example.org"},
    )
    assert r.status_code == 303
    r = ann.post(
        f"/admin/clients/{bob_id}",
        data={"csrf_token": csrf, "name": "Bob Client", "comment": "VIP since 2020"},
    )
    assert r.status_code == 303
    assert "VIP since 2020" in ann.get(r.headers["location"]).text
    with world.db.transaction() as s:
        client = s.get(Client, bob_id)
        assert client is not None and client.comment == "VIP since 2020"
        assert sorted(e.email for e in client.emails) == ["bob@work.example"]
        alice_email = s.scalar(select(ClientEmail).where(ClientEmail.email == "alice@example.org"))
        assert alice_email is not None and alice_email.client_id == world.ids["alice"]
