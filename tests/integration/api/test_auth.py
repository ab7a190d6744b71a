"""Logging in: argon2 passwords, cookie sessions with CSRF, bearer tokens, the rate limit."""

from __future__ import annotations

from sqlalchemy import select

from services.ticket_store.models import AuthToken, Staff
from tests.integration.api.conftest import PASSWORD, World


def test_passwords_are_stored_as_argon2_hashes(world: World) -> None:
    with world.db.transaction() as s:
        john = s.scalar(select(Staff).where(Staff.email == "john@company.net"))
        assert john.password_hash.startswith("$argon2id$")
        assert PASSWORD not in john.password_hash


def test_cookie_session_needs_the_csrf_token_for_writes(world: World) -> None:
    r = world.app.post(
        "/api/v1/auth/login", json={"email": "John@Company.net", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["role"] == "staff" and me["name"] == "John Smith" and me["csrf_token"]
    assert "httponly" in r.headers["set-cookie"].lower()
    # Reading with the cookie works.
    assert world.app.get(f"/api/v1/tickets/{world.alice_ticket}").status_code == 200
    # Writing without the CSRF header is refused, and changes nothing.
    r = world.app.post(f"/api/v1/tickets/{world.alice_ticket}/notes", json={"text": "x"})
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = world.app.post(
        f"/api/v1/tickets/{world.alice_ticket}/notes",
        json={"text": "x"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert r.status_code == 403
    r = world.app.post(
        f"/api/v1/tickets/{world.alice_ticket}/notes",
        json={"text": "checked the host"},
        headers={"X-CSRF-Token": me["csrf_token"]},
    )
    assert r.status_code == 201, r.text
    # Logout ends the session.
    r = world.app.post("/api/v1/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    assert r.status_code == 204
    world.app.cookies.clear()
    assert world.app.get("/api/v1/auth/me").status_code == 401


def test_bearer_tokens_for_scripts_are_stored_hashed(world: World) -> None:
    r = world.app.post(
        "/api/v1/auth/tokens",
        json={"email": "gary@company.net", "password": PASSWORD, "name": "nightly export"},
    )
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    r = world.app.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["name"] == "Gary Stark"
    with world.db.transaction() as s:
        stored = [t.token_hash for t in s.scalars(select(AuthToken))]
    assert token not in stored
    # Bearer writes need no CSRF token (browsers never send it by themselves).
    r = world.app.post(
        f"/api/v1/tickets/{world.bob_ticket}/notes",
        json={"text": "scripted"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201
    r = world.app.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    r = world.app.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_wrong_password_and_unknown_user_get_the_same_401(world: World) -> None:
    wrong = world.app.post(
        "/api/v1/auth/login", json={"email": "john@company.net", "password": "nope-nope"}
    )
    unknown = world.app.post(
        "/api/v1/auth/login", json={"email": "who@company.net", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_login_is_rate_limited_per_address(world: World) -> None:
    body = {"email": "john@company.net", "password": "guess-guess"}
    codes = [world.app.post("/api/v1/auth/login", json=body).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Even the right password is refused while blocked.
    r = world.app.post("/api/v1/auth/login", json={**body, "password": PASSWORD})
    assert r.status_code == 429 and r.headers["Retry-After"]
    # Another address is not affected.
    r = world.app.post(
        "/api/v1/auth/login", json={"email": "gary@company.net", "password": PASSWORD}
    )
    assert r.status_code == 200


def test_someone_elsewhere_cannot_lock_a_staff_member_out(world: World) -> None:
    """Failures from one IP block that IP for the address, not the owner at their desk;
    guessing spread over many IPs is still stopped by the per-address limit."""
    from services.ticket_store import auth

    limit = world.app.app.state.login_limit
    identity = "staff:john@company.net"
    with world.db.transaction() as s:
        for _ in range(limit.per_identity_ip):
            auth.record_failure(s, identity, "203.0.113.7")
    with world.db.transaction() as s:
        assert auth.login_blocked(s, identity, "203.0.113.7", limit)
        assert not auth.login_blocked(s, identity, "testclient", limit)
    r = world.app.post(
        "/api/v1/auth/login", json={"email": "john@company.net", "password": PASSWORD}
    )
    assert r.status_code == 200  # John, from his own address, still gets in
    with world.db.transaction() as s:
        for i in range(limit.per_identity):
            auth.record_failure(s, identity, f"198.51.100.{i}")
    with world.db.transaction() as s:
        assert auth.login_blocked(s, identity, "192.0.2.1", limit)  # a new IP too, now


def test_deactivated_staff_lose_their_tokens(world: World) -> None:
    r = world.patch("ann", f"/admin/staff/{world.ids['john']}", {"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert world.get("john", "/tickets").status_code == 401
    r = world.app.post(
        "/api/v1/auth/login", json={"email": "john@company.net", "password": PASSWORD}
    )
    assert r.status_code == 401


def test_clients_log_in_with_a_registered_email(world: World) -> None:
    r = world.app.post(
        "/api/v1/auth/login",
        json={"email": "ALICE@example.org", "password": PASSWORD, "role": "client"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "client" and r.json()["id"] == world.ids["alice"]
    # A client session is no staff session.
    assert world.app.get("/api/v1/tickets").status_code == 403
