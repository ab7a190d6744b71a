"""A request id for every HTTP request: the caller's X-Request-ID when it is a sane
token, else a new one. It is echoed in the response and becomes the cause
(``request:<id>``) of every ticket event the request makes, so a downstream
consumer can tie an event to the API call or form post that made it."""

from __future__ import annotations

import re
import uuid

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
# Printable, no spaces or separators that would make the cause ambiguous; bounded.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(value: str | None) -> str:
    """The caller's id if sane, else a fresh one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_cause(request: Request) -> str:
    """The cause ticket events of this request carry ('' outside the middleware)."""
    rid = getattr(request.state, "request_id", "")
    return f"request:{rid}" if rid else ""


class RequestId:
    """Pure ASGI middleware: sets ``request.state.request_id`` and the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(HEADER.lower().encode(), b"")
        rid = request_id_of(sent.decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
