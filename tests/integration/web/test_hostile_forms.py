"""The pages refuse what the API refuses (issue 10, items 5 and 6): a form over its size
limit is the error page with 413, before it is parsed; names are one line; email fields
take one plain address; the session cookie is Secure when the public URL is https."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.ticket_store.http import create_app
from services.ticket_store.models import ClientEmail, Department
from tests.integration.web.conftest import PASSWORD, World, csrf_of, log_in


def test_a_form_over_its_limit_is_the_error_page_with_413(world: World) -> None:
    ann = log_in(world, "ann")
    token = csrf_of(ann.get("/admin/departments").text)
    r = ann.post(
        "/admin/departments",
        data={"csrf_token": token, "name": "Big", "insufficient_notice": "x" * 3_000_000},
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "too large" in r.text and "default-src 'none'" in r.headers["content-security-policy"]
    with world.db.transaction() as s:
        assert s.scalar(select(Department).where(Department.name == "Big")) is None
    ok = ann.post("/admin/departments", data={"csrf_token": token, "name": "Billing"})
    assert ok.status_code == 303


def test_names_with_cr_lf_or_nul_are_refused_on_the_pages(world: World) -> None:
    ann = log_in(world, "ann")
    token = csrf_of(ann.get("/admin/departments").text)
    for bad in ("Sales\r\nINFO forged", "Bad\x00name"):
        r = ann.post("/admin/departments", data={"csrf_token": token, "name": bad})
        assert r.status_code == 422 and "one line" in r.text
        r = ann.post(
            f"/admin/departments/{world.technical}", data={"csrf_token": token, "name": bad}
        )
        assert r.status_code == 422 and "one line" in r.text
    with world.db.transaction() as s:
        names = set(s.scalars(select(Department.name)))
    assert not any("\r" in n or "\n" in n or "\0" in n for n in names)


def test_email_fields_on_the_pages_take_one_plain_address(world: World) -> None:
    ann = log_in(world, "ann")
    token = csrf_of(ann.get("/admin/clients").text)
    injected = "a@b.c\r\nBcc: x@y.z"
    r = ann.post(
        f"/admin/clients/{world.ids['bob']}/emails", data={"csrf_token": token, "email": injected}
    )
    assert r.status_code == 422 and "plain email address" in r.text
    r = ann.post(
        "/admin/clients",
        data={"csrf_token": token, "name": "Carol", "emails": "carol@example.org\nAlice <a@b.c>"},
    )
    assert r.status_code == 422 and "plain email addresses" in r.text
    with world.db.transaction() as s:
        emails = set(s.scalars(select(ClientEmail.email)))
    assert "carol@example.org" not in emails and not any("bcc" in e for e in emails)


def _login_cookie(world: World, **app_kw) -> str:
    app = create_app(world.settings, world.db, **app_kw)
    with TestClient(app, base_url="https://desk.example") as browser:
        page = browser.get("/login")
        r = browser.post(
            "/login",
            data={
                "email": "john@company.net",
                "password": PASSWORD,
                "role": "staff",
                "login_token": csrf_of(page.text, "login_token"),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return r.headers["set-cookie"]


def test_the_session_cookie_is_secure_when_the_public_url_is_https(world: World) -> None:
    assert "secure" not in _login_cookie(world).lower()  # `up` on localhost, over http
    world.settings.public_url = "https://desk.example"
    assert "; secure" in _login_cookie(world).lower()
    world.settings.public_url = "http://localhost:8000"
    assert "; secure" in _login_cookie(world, secure_cookies=True).lower()  # the override
