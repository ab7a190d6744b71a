"""A real browser for the pages: Debian's Chromium driven by Playwright, and the store's app
served over HTTP by uvicorn in a thread (the browser tests and devtools.screenshots).

Browser downloads are not possible here, so Playwright launches /usr/bin/chromium
(SUPPORTDESK_CHROMIUM overrides it) with --no-sandbox, since tests run as root.
No pytest here: tests/fixtures/browser.py wraps this.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

CHROMIUM = Path(os.environ.get("SUPPORTDESK_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1280, "height": 900}


def chromium_missing() -> str | None:
    """Why Chromium cannot be launched here, or None."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return f"{CHROMIUM} not found: run scripts/install-system-deps.sh (apt-get install chromium)"


def launch(playwright: Any) -> Any:
    """Headless Chromium from the system (never a downloaded build)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])


def log_in(page: Any, base: str, email: str, password: str, role: str = "staff") -> None:
    """Through the login form, as a person would; raises if the form refuses."""
    page.goto(f"{base}/login?role={role}")
    page.check(f"input[name=role][value={role}]")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    if page.url.split("?")[0].endswith("/login"):
        raise RuntimeError(f"login as {email} refused: {page.locator('main').inner_text()[:200]}")


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


__all__ = ["CHROMIUM", "VIEWPORT", "chromium_missing", "launch", "log_in", "serve"]
