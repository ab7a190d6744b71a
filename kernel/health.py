"""A service's state for health checks and metrics, and waiting for the parts it needs.

A service started while the broker, the database or a mail server is down does not
exit: it waits with backoff, logs one line when it starts waiting and one when the part
is back (never a line per attempt), and says "waiting for broker" in its state until
then. Supervisors (`up`, systemd) then see a live process, not a crash loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from prometheus_client import Enum

log = logging.getLogger(__name__)

PARTS = ("broker", "database", "mail server")
STATES = ["starting", *(f"waiting for {part}" for part in PARTS), "running", "stopping"]

STATE = Enum(
    "supportdesk_service_state",
    "What the service is doing: starting, waiting for a part it needs, running, stopping",
    states=STATES,
)

_lock = threading.Lock()
_waiting: dict[str, str] = {}  # part → the last error, while waiting for it
_state = "starting"


def state() -> str:
    """`waiting for <part>` while any part is awaited, else the service's own state."""
    with _lock:
        if _waiting:
            return f"waiting for {next(iter(_waiting))}"
        return _state


def set_state(new: str) -> None:
    global _state
    with _lock:
        _state = new
    STATE.state(state())


def waiting_reason() -> dict[str, str]:
    """The parts awaited now, with the last error seen (for a health page)."""
    with _lock:
        return dict(_waiting)


def wait_for(
    part: str,
    probe: Callable[[], object],
    *,
    where: str,
    stopping: threading.Event | None = None,
    first_s: float = 0.5,
    max_s: float = 5.0,
) -> bool:
    """Call `probe` until it returns without raising; False if `stopping` is set first.

    Probes are cheap (one connect), so the delay stops at 5 s: a service waiting through
    an outage starts within 5 s of the part's return (issue 12 asks for 15 s).

    `where` names the part for the log (an address, never a password).
    """
    assert part in PARTS, part
    stopping = stopping or threading.Event()
    delay, started = first_s, time.monotonic()
    while not stopping.is_set():
        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable yet"
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            with _lock:
                first = part not in _waiting
                _waiting[part] = reason
            STATE.state(state())
            if first:
                log.warning("waiting for %s at %s (%s); retrying with backoff", part, where, reason)
            stopping.wait(delay)
            delay = min(delay * 2, max_s)
            continue
        with _lock:
            was_waiting = _waiting.pop(part, None) is not None
        STATE.state(state())
        if was_waiting:
            log.warning("%s at %s is back after %.1fs", part, where, time.monotonic() - started)
        return True
    return False


def health_app(environ: dict, start_response: Callable) -> list[bytes]:  # type: ignore[type-arg]
    """WSGI: /health answers the state as JSON (503 while waiting), anything else metrics."""
    import json

    from prometheus_client import make_wsgi_app

    if environ.get("PATH_INFO") == "/health":
        now = state()
        body = json.dumps({"state": now, "waiting": waiting_reason()}).encode()
        status = "503 Service Unavailable" if now.startswith("waiting") else "200 OK"
        start_response(status, [("Content-Type", "application/json")])
        return [body]
    return make_wsgi_app()(environ, start_response)  # type: ignore[no-any-return]


def serve(port: int, addr: str = "127.0.0.1") -> None:
    """Serve /health and /metrics on `port` in a daemon thread (0 = not served)."""
    if port <= 0:
        return
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class _Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:  # scrapes every 15 s: no access log
            pass

    server = make_server(addr, port, health_app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
