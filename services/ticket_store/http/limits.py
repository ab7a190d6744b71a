"""What one request may send, checked before anything parses it.

A body over its limit ends in 413 as soon as the limit is known to be passed: at once
when Content-Length says so, else when the bytes read pass it. So a 10 MB JSON body
is never read whole, never parsed on the event loop, and never echoed back.

A JSON body within the limit is also looked at once, in a worker thread, before the
API validates it on the event loop: more than `JSON_VALUES` values or deeper than
`JSON_DEPTH` is a 422 at once (no request of ours comes near either; 1 MB of unknown
fields would otherwise cost the event loop about a second of validation errors).
"""

from __future__ import annotations

import json

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel.config import Settings

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
JSON_VALUES = 2000
JSON_DEPTH = 16


class BodyTooLarge(HTTPException):
    """Raised while the body is read; the app answers it as the API or the pages do.
    (An HTTPException, so FastAPI passes it on instead of calling it a parse error.)"""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def body_limit(settings: Settings, content_type: str) -> int:
    """JSON and plain forms: their own limits; multipart: the attachments on top."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        files = settings.max_attachment_bytes * settings.max_attachments_per_message
        return files + settings.max_form_bytes
    if kind == "application/x-www-form-urlencoded":
        return settings.max_form_bytes
    return settings.max_json_bytes


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def json_too_big(body: bytes) -> str:
    """Why this JSON body is too big to validate, or "" (also for invalid JSON, which
    the API refuses by itself at no cost)."""
    try:
        todo = [(json.loads(body), 1)]
    except ValueError:
        return ""
    count = 0
    while todo:
        value, depth = todo.pop()
        count += 1
        if count > JSON_VALUES:
            return f"the JSON body holds more than {JSON_VALUES} values"
        if depth > JSON_DEPTH:
            return f"the JSON body is nested deeper than {JSON_DEPTH} levels"
        if isinstance(value, dict):
            todo.extend((v, depth + 1) for v in value.values())
            count += len(value)  # the keys
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value)
    return ""


class BodyLimit:
    """ASGI middleware: the request's receive channel refuses to pass the limit."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = body_limit(self.settings, headers.get(b"content-type", b"").decode("latin-1"))
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        over = declared.isdigit() and int(declared) > limit
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if over:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        if not _is_json(headers.get(b"content-type", b"").decode("latin-1")):
            await self.app(scope, limited, send)
            return
        try:
            body = await _read_all(limited)
        except BodyTooLarge as exc:
            await JSONResponse({"detail": exc.detail}, 413)(scope, receive, send)
            return
        problem = await to_thread.run_sync(json_too_big, body)
        if problem:
            await JSONResponse({"detail": problem}, 422)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read once, given again to the app; then the client's own messages."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
