"""The app factory: the JSON API under /api/v1 and the web pages, on one Database.

`supportdesk web` serves it with uvicorn. A refusal of the core (not found,
forbidden, conflict, invalid input …), a body over its limit (`limits`) and a
request of the wrong shape are answered by the adapter the request went to: a
JSON {"detail": …} under /api/v1, the error page anywhere else. The session cookie
is Secure when the public URL is https (or when asked); log lines escape control
characters (`logs`); /docs and /redoc work offline (`docs`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kernel.config import Settings, get_settings
from services.ticket_store import api, web
from services.ticket_store.auth import LoginLimit
from services.ticket_store.db import Database
from services.ticket_store.http.asyncapi import mount_asyncapi
from services.ticket_store.http.docs import mount_docs
from services.ticket_store.http.limits import BodyLimit, BodyTooLarge
from services.ticket_store.http.logs import escape_log_lines
from services.ticket_store.http.metrics import RequestMetrics
from services.ticket_store.http.refusals import REFUSALS
from services.ticket_store.http.request_id import RequestId

if TYPE_CHECKING:  # the pages import `http` (sessions): at run time, no cycle
    from services.ticket_store.web.admin_replay import ReplayRunner

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    *,
    login_limit: LoginLimit | None = None,
    secure_cookies: bool = False,
    replay_runner: ReplayRunner | None = None,
) -> FastAPI:
    """`replay_runner`: what the Replay page runs, handed by the composition root (the store
    may not import the router); without it the page lists kept reports only."""
    settings = settings or get_settings()
    escape_log_lines()
    app = FastAPI(
        title="Supportdesk",
        version="1",
        summary="Support center: departments, staff, tickets, pre-defined replies, incoming emails",
        docs_url=None,
        redoc_url=None,
    )  # OpenAPI at /openapi.json, its pages at /docs and /redoc (`docs`)
    app.state.settings = settings
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(RequestId)  # X-Request-ID: the cause of the request's ticket events
    # Outermost (added last): counts every answer, refusals and body limits included.
    app.add_middleware(RequestMetrics, prefixes=(api.API_PREFIX,))
    if settings.trusted_proxies.strip():
        # The client address behind a trusted reverse proxy (uvicorn's --forwarded-allow-ips).
        proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.state.db = db or Database(settings.database_url, settings.topics)
    app.state.login_limit = login_limit or LoginLimit()
    app.state.replay_runner = replay_runner
    app.state.secure_cookies = secure_cookies or settings.public_url.lower().startswith("https:")
    api.register(app)
    web.register(app)
    mount_docs(app)
    mount_asyncapi(app)  # the contract of tickets.events

    def refusal(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(api.API_PREFIX):
            return api.refusal(request, exc)
        return web.refusal(request, exc)

    for kind in REFUSALS:
        app.add_exception_handler(kind, refusal)

    @app.exception_handler(BodyTooLarge)
    def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        if request.url.path.startswith(api.API_PREFIX):
            return JSONResponse({"detail": exc.detail}, status_code=413)
        return web.error_page(request, 413, "The form sent is too large.")

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith(api.API_PREFIX):
            return api.invalid_request(request, exc)
        return web.error_page(request, 422, "The address or the form is not valid.")

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
