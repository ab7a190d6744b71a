"""Logging in and out through the login form; who may open which section."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.web.conftest import PASSWORD, World, csrf_of, log_in


def _try(world: World, email: str, password: str, role: str = "staff"):
    browser = TestClient(world.app.app, follow_redirects=False)
    page = browser.get("/login")
    r = browser.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "role": role,
            "login_token": csrf_of(page.text, "login_token"),
        },
    )
    return browser, r


def test_login_page_and_a_wrong_password_reveal_nothing(world: World) -> None:
    page = TestClient(world.app.app).get("/login")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="password"' in page.text
    known, r_known = _try(world, "john@company.net", "wrong password!")
    unknown, r_unknown = _try(world, "nobody@company.net", "wrong password!")
    for browser, r in ((known, r_known), (unknown, r_unknown)):
        assert r.status_code == 401
        assert "Wrong email or password." in r.text
        assert "supportdesk_session" not in browser.cookies

    # The same answer whether or not the address exists (apart from echoing what was typed).
    def bare(r, email: str) -> str:
        return r.text.replace(csrf_of(r.text, "login_token"), "").replace(email, "")

    assert bare(r_known, "john@company.net") == bare(r_unknown, "nobody@company.net")
    browser, ok = _try(world, "john@company.net", PASSWORD)
    assert ok.status_code == 303 and ok.headers["location"] == "/tickets"
    assert "John Smith" in browser.get("/tickets").text


def test_too_many_failures_are_refused(world: World) -> None:
    # The world's limit is 3 failures per address.
    for _ in range(3):
        assert _try(world, "gary@company.net", "not the password")[1].status_code == 401
    browser, r = _try(world, "gary@company.net", PASSWORD)
    assert r.status_code == 429 and "Too many failed logins" in r.text
    assert "supportdesk_session" not in browser.cookies


def test_login_form_needs_its_token(world: World) -> None:
    browser = TestClient(world.app.app, follow_redirects=False)
    r = browser.post(
        "/login", data={"email": "john@company.net", "password": PASSWORD, "role": "staff"}
    )
    assert r.status_code == 403
    assert "supportdesk_session" not in browser.cookies


def test_not_logged_in_goes_to_the_login_page(world: World) -> None:
    anonymous = TestClient(world.app.app, follow_redirects=False)
    for path in ("/", "/tickets", f"/tickets/{world.alice_ticket}", "/incoming", "/support"):
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    r = anonymous.post(f"/tickets/{world.alice_ticket}/reply", data={"text": "hi"})
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_staff_pages_refuse_clients_and_client_pages_refuse_staff(world: World) -> None:
    alice, john = log_in(world, "alice"), log_in(world, "john")
    for path in ("/tickets", f"/tickets/{world.alice_ticket}", "/incoming", "/replies"):
        r = alice.get(path)
        assert r.status_code == 403 and "for staff only" in r.text, path
        assert "VPS does not boot" not in r.text
    for path in ("/support", f"/support/tickets/{world.alice_ticket}", "/support/new"):
        r = john.get(path)
        assert r.status_code == 403 and "for clients only" in r.text, path


def test_logout_ends_the_session(world: World) -> None:
    john = log_in(world, "john")
    cookie = john.cookies["supportdesk_session"]
    token = csrf_of(john.get("/tickets").text)
    r = john.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # The old cookie no longer works, even if a browser kept it.
    stale = TestClient(world.app.app, follow_redirects=False)
    stale.cookies.set("supportdesk_session", cookie)
    assert stale.get("/tickets").status_code == 303
    assert (
        world.app.get("/api/v1/auth/me", cookies={"supportdesk_session": cookie}).status_code == 401
    )
