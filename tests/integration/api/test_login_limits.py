"""Login limits that slow guessing down without letting anyone lock users out (issue 10)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from services.ticket_store import auth
from services.ticket_store.auth import LoginLimit
from services.ticket_store.http import create_app
from services.ticket_store.models import LoginAttempt
from tests.integration.api.conftest import PASSWORD, World

JOHN = "staff:john@company.net"


def _fail(world: World, identity: str, ip: str, times: int = 1, ago: float = 0.0) -> None:
    at = auth._now() - timedelta(seconds=ago)
    with world.db.transaction() as s:
        for _ in range(times):
            s.add(LoginAttempt(identity=identity, ip=ip, at=at))


def _wait(world: World, identity: str, ip: str, limit: LoginLimit) -> int:
    with world.db.transaction() as s:
        return auth.login_wait(s, identity, ip, limit)


def test_each_failure_past_the_free_ones_doubles_the_wait(world: World) -> None:
    limit = LoginLimit(per_identity_ip=3, first_wait=timedelta(seconds=30))
    assert limit.wait_after(2, 3) == timedelta(0)
    assert [limit.wait_after(n, 3).total_seconds() for n in (3, 4, 5, 6)] == [30, 60, 120, 240]
    assert limit.wait_after(60, 3) == limit.max_wait  # grows slower, never a lock-out
    _fail(world, JOHN, "203.0.113.7", times=3, ago=10)
    assert 19 <= _wait(world, JOHN, "203.0.113.7", limit) <= 20  # 30 s after the last, 10 gone
    _fail(world, JOHN, "203.0.113.7", ago=50)  # a 4th failure, longer ago: last is 10 s old
    assert 49 <= _wait(world, JOHN, "203.0.113.7", limit) <= 50  # 60 s after the last
    assert _wait(world, JOHN, "198.51.100.1", limit) == 0  # John elsewhere: not slowed


def test_the_ip_limit_counts_accounts_not_one_persons_typos(world: World) -> None:
    limit = LoginLimit(per_identity_ip=100, per_identity=100, per_ip=3)
    proxy = "192.0.2.10"
    _fail(world, "staff:gary@company.net", proxy, times=40)  # one person, many typos
    assert _wait(world, JOHN, proxy, limit) == 0  # the others behind that IP go on
    for who in ("staff:a@x.test", "staff:b@x.test"):
        _fail(world, who, proxy)  # now three different accounts failed from there
    assert _wait(world, JOHN, proxy, limit) > 0  # one place trying many accounts waits


def test_a_success_from_one_ip_keeps_the_other_ips_counters(world: World) -> None:
    limit: LoginLimit = world.app.app.state.login_limit  # 3 free per address and IP
    _fail(world, JOHN, "203.0.113.7", times=limit.per_identity_ip)
    assert _wait(world, JOHN, "203.0.113.7", limit) > 0
    r = world.app.post(
        "/api/v1/auth/login", json={"email": "john@company.net", "password": PASSWORD}
    )
    assert r.status_code == 200  # John at his desk (testclient) gets in
    assert _wait(world, JOHN, "203.0.113.7", limit) > 0  # the guesser elsewhere still waits


def test_the_429_says_how_long_to_wait(world: World) -> None:
    body = {"email": "john@company.net", "password": "guess-guess"}
    for _ in range(3):
        assert world.app.post("/api/v1/auth/login", json=body).status_code == 401
    r = world.app.post("/api/v1/auth/login", json=body)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 30  # the first wait, not the whole window


def _login_from(client: TestClient, forwarded_for: str, password: str) -> int:
    body = {"email": "john@company.net", "password": password}
    return client.post(
        "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": forwarded_for}
    ).status_code


def test_behind_a_trusted_proxy_each_client_is_counted_apart(world: World) -> None:
    settings = world.settings.model_copy(update={"trusted_proxies": "testclient"})
    app = create_app(settings, world.db, login_limit=LoginLimit(per_identity_ip=2))
    with TestClient(app) as proxied:
        assert [_login_from(proxied, "203.0.113.9", "wrong-one") for _ in range(3)] == [
            401,
            401,
            429,
        ]
        assert _login_from(proxied, "198.51.100.4", PASSWORD) == 200  # another client
    with world.db.transaction() as s:
        ips = {ip for (ip,) in s.query(LoginAttempt.ip)}
    assert ips == {"203.0.113.9"}


def test_without_a_trusted_proxy_the_header_is_ignored(world: World) -> None:
    app = create_app(world.settings, world.db, login_limit=LoginLimit(per_identity_ip=2))
    with TestClient(app) as direct:
        for forged in ("203.0.113.1", "203.0.113.2"):
            assert _login_from(direct, forged, "wrong-one") == 401
        assert _login_from(direct, "203.0.113.3", PASSWORD) == 429  # one client, however named
    with world.db.transaction() as s:
        assert {ip for (ip,) in s.query(LoginAttempt.ip)} == {"testclient"}
