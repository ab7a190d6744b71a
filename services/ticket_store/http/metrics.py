"""HTTP requests by route template and status, for the web process's /metrics.

Labelled by the route's template (`/api/v1/tickets/{ticket_id}`), never the raw path,
so a scan of random URLs cannot grow the metric without bound.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ticket_store.metrics import HTTP_REQUESTS, HTTP_SECONDS

UNMATCHED = "(unmatched)"


def route_template(scope: Scope, prefixes: tuple[str, ...]) -> str:
    """The matched route's template, with the prefix it was included under.

    FastAPI reports a route included with `prefix=` by its own path (`/tickets/{number}`);
    the prefix is taken back from the request path, but only a known one, so a path
    parameter can never smuggle request text into a label.
    """
    path = getattr(scope.get("route"), "path", None)
    if not path:
        return UNMATCHED
    parts = scope["path"].split("/")
    prefix = "/".join(parts[: max(0, len(parts) - path.count("/"))])
    return prefix + path if prefix in prefixes else path


class RequestMetrics:
    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless a response starts: an exception reaches the server

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope, self.prefixes)
            HTTP_REQUESTS.labels(route, scope["method"], str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - start)
