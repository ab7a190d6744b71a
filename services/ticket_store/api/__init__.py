"""The support center's HTTP API (FastAPI, OpenAPI at /docs), under /api/v1.

`create_app()` wires the routers to one Database; `supportdesk web` serves it
with uvicorn. Every refusal is a JSON {"detail": …} with 401, 402, 403, 404,
409, 422 or 429, never a stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from kernel.config import Settings, get_settings
from services.ticket_store.auth import LoginLimit
from services.ticket_store.db import Database
from services.ticket_store.domain.errors import Conflict, InsufficientIncidents, NotFound

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def _json(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    *,
    login_limit: LoginLimit | None = None,
    secure_cookies: bool = False,
) -> FastAPI:
    from services.ticket_store.api import admin, attachments, auth_routes, client, staff

    settings = settings or get_settings()
    app = FastAPI(
        title="Supportdesk",
        version="1",
        summary="Support center: departments, staff, tickets, pre-defined replies, incoming emails",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url)
    app.state.login_limit = login_limit or LoginLimit()
    app.state.secure_cookies = secure_cookies
    for r in (
        auth_routes.router,
        staff.router,
        staff.incoming_router,
        attachments.router,
        client.router,
        admin.router,
    ):
        app.include_router(r, prefix=API_PREFIX)
    # The server-rendered pages for staff and clients (none of them in the OpenAPI document).
    from services.ticket_store import web

    web.register(app)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _json(404, f"{exc} does not exist")

    @app.exception_handler(Conflict)
    def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        return _json(409, str(exc))

    @app.exception_handler(InsufficientIncidents)
    def _no_incidents(request: Request, exc: InsufficientIncidents) -> JSONResponse:
        return _json(402, f"insufficient support incidents: {exc}")

    @app.exception_handler(ValueError)
    def _invalid(request: Request, exc: ValueError) -> JSONResponse:
        return _json(422, str(exc))

    @app.exception_handler(IntegrityError)
    def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        return _json(409, "this conflicts with existing data (a duplicate?)")

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        return _json(422, "a value is out of range")

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _json(500, "internal error; it has been logged")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
