"""The app factory: the JSON API under /api/v1 and the web pages, on one Database.

`supportdesk web` serves it with uvicorn. A refusal of the core (not found,
forbidden, conflict, invalid input …) is answered by the adapter the request
went to: a JSON {"detail": …} under /api/v1, the error page anywhere else.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kernel.config import Settings, get_settings
from services.ticket_store import api, web
from services.ticket_store.auth import LoginLimit
from services.ticket_store.db import Database
from services.ticket_store.http.refusals import REFUSALS

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    *,
    login_limit: LoginLimit | None = None,
    secure_cookies: bool = False,
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Supportdesk",
        version="1",
        summary="Support center: departments, staff, tickets, pre-defined replies, incoming emails",
    )  # OpenAPI at /openapi.json, its pages at /docs
    app.state.settings = settings
    if settings.trusted_proxies.strip():
        # The client address behind a trusted reverse proxy (uvicorn's --forwarded-allow-ips).
        proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.state.db = db or Database(settings.database_url, settings.topics)
    app.state.login_limit = login_limit or LoginLimit()
    app.state.secure_cookies = secure_cookies
    api.register(app)
    web.register(app)

    def refusal(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(api.API_PREFIX):
            return api.refusal(request, exc)
        return web.refusal(request, exc)

    for kind in REFUSALS:
        app.add_exception_handler(kind, refusal)

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
