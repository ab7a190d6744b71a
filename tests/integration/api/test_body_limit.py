"""Bodies over their limit are refused before they are parsed, and the server stays
responsive meanwhile (issue 10, item 5: a 10 MB POST used to block /healthz for 3.6 s
and come back as a 10 MB 422)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.api.conftest import World
from tests.integration.api.served import serve

# Bounds on response times: alone on the machine (make test's serial pass).
pytestmark = pytest.mark.serial

TEN_MB = 10 * 1024 * 1024


def _huge_login() -> bytes:
    return b'{"email": "' + b"a" * TEN_MB + b'", "password": "x"}'


def _healthz_while(base: str, busy: threading.Event) -> list[float]:
    """Latencies of /healthz, one after another, while `busy` is set."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as c:
        while busy.is_set() or not latencies:
            start = time.perf_counter()
            assert c.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - start)
    return latencies


def _post_while_probing(base: str, send) -> tuple[httpx.Response, float, list[float]]:
    busy = threading.Event()
    busy.set()
    found: list[list[float]] = []
    probe = threading.Thread(target=lambda: found.append(_healthz_while(base, busy)))
    probe.start()
    try:
        time.sleep(0.1)
        start = time.perf_counter()
        with httpx.Client(base_url=base, timeout=60) as c:
            r = send(c)
        took = time.perf_counter() - start
    finally:
        busy.clear()
        probe.join(60)
    return r, took, found[0]


def test_a_10_mb_json_post_is_refused_at_once_and_the_server_stays_responsive(
    world: World,
) -> None:
    with serve(world.app.app) as base:
        r, took, healthz = _post_while_probing(
            base,
            lambda c: c.post(
                "/api/v1/auth/tokens",
                content=_huge_login(),
                headers={"Content-Type": "application/json"},
            ),
        )
    print(
        f"\n10 MB POST: {r.status_code} in {took:.3f} s, {len(r.content)} bytes back; "
        f"/healthz x{len(healthz)}, slowest {max(healthz):.3f} s"
    )
    assert r.status_code == 413
    assert r.json() == {"detail": "the request body is larger than 1048576 bytes"}
    assert took < 2.0 and max(healthz) < 1.0


def test_a_chunked_body_without_length_is_cut_off_at_the_limit(world: World) -> None:
    def chunks() -> Iterator[bytes]:
        body = _huge_login()
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    with serve(world.app.app) as base:
        r, took, healthz = _post_while_probing(
            base,
            lambda c: c.post(
                "/api/v1/auth/tokens",
                content=chunks(),
                headers={"Content-Type": "application/json"},
            ),
        )
    print(
        f"\nchunked 10 MB POST: {r.status_code} in {took:.3f} s; "
        f"/healthz slowest {max(healthz):.3f} s"
    )
    assert r.status_code == 413 and len(r.content) < 200
    assert max(healthz) < 1.0


def test_bodies_under_the_limit_still_work_and_over_it_are_413_everywhere(world: World) -> None:
    just_under = {"title": "t" * 100, "text": "x" * 190_000}
    ok = world.post("ann", "/admin/predefined-replies", json=just_under)
    assert ok.status_code == 201
    big = b'{"text": "' + b"x" * (1024 * 1024) + b'"}'
    for path in ("/admin/predefined-replies", f"/tickets/{world.alice_ticket}/notes"):
        r = world.app.post(
            f"/api/v1{path}",
            content=big,
            headers={**world.as_("ann"), "Content-Type": "application/json"},
        )
        assert r.status_code == 413, path
        assert r.json()["detail"].startswith("the request body is larger than")


def test_the_limit_is_a_setting(world: World) -> None:
    world.settings.max_json_bytes = 100
    r = world.post("ann", "/admin/departments", json={"name": "x" * 120})
    assert r.status_code == 413
    assert world.post("ann", "/admin/departments", json={"name": "Billing"}).status_code == 201


def test_many_bodies_at_the_limit_leave_healthz_quick(world: World) -> None:
    """Parsing what is allowed (1 MB of JSON) costs the event loop little."""
    body = b'{"email": "a@b.c", "password": "' + b"p" * (1024 * 1024 - 64) + b'"}'
    with serve(world.app.app) as base:

        def many(c: httpx.Client) -> httpx.Response:
            for _ in range(10):
                r = c.post(
                    "/api/v1/auth/tokens",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
            return r

        r, took, healthz = _post_while_probing(base, many)
    print(f"\n10 x 1 MB POSTs in {took:.3f} s; /healthz slowest {max(healthz):.3f} s")
    assert r.status_code == 422 and b"ppp" not in r.content
    assert max(healthz) < 1.0


def _many_keys(size: int) -> bytes:
    """A JSON object of unknown fields: each one a validation error (the costly case)."""
    return ("{" + ",".join(f'"k{i:07d}":0' for i in range(size // 12)) + "}").encode()


def test_unknown_fields_by_the_thousand_cost_the_event_loop_nothing(world: World) -> None:
    """Before: 10 MB of unknown fields blocked /healthz for over a minute."""
    with serve(world.app.app) as base:
        for size, status in ((10 * 1024 * 1024, 413), (900_000, 422)):
            body = _many_keys(size)
            r, took, healthz = _post_while_probing(
                base,
                lambda c, body=body: c.post(
                    "/api/v1/auth/tokens",
                    content=body,
                    headers={"Content-Type": "application/json"},
                ),
            )
            print(
                f"\n{len(body)} bytes of unknown fields: {r.status_code} in {took:.3f} s, "
                f"{len(r.content)} bytes back; /healthz slowest {max(healthz):.3f} s"
            )
            assert r.status_code == status and len(r.content) < 200
            assert took < 2.0 and max(healthz) < 0.5


def test_deep_or_wide_json_is_refused_before_validation(world: World) -> None:
    deep = b"[" * 40 + b"]" * 40
    wide = b"[" + b",".join(b"1" for _ in range(5000)) + b"]"
    for body, word in ((deep, "nested deeper"), (wide, "more than")):
        r = world.app.post(
            "/api/v1/admin/departments",
            content=body,
            headers={**world.as_("ann"), "Content-Type": "application/json"},
        )
        assert r.status_code == 422 and word in r.json()["detail"]
