"""The support center's JSON API (FastAPI, OpenAPI at /docs), under /api/v1: an adapter
over the store's application core, sibling of the web pages (`web/`).

Owns the endpoints (`staff`, `client`, `admin`, `attachments`, `auth_routes`; shared
route shapes in `routes`, file uploads in `uploads`), their request bodies
(`schemas`), who is asking (`deps`) and the JSON form of a refusal (`errors`):
every refusal is a {"detail": …} with 400, 401, 402, 403, 404, 409, 413, 422 or 429,
each documented in the OpenAPI document, never a stack trace. May import the core
(`actions`, `queries`, `presenters`, `access`, `domain`), `auth`, `http.sessions`,
`http.login` and `http.deps`; never `web`. `http.create_app` mounts it.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.ticket_store.api.errors import RESPONSES, invalid_request, refusal

API_PREFIX = "/api/v1"

__all__ = ["API_PREFIX", "invalid_request", "refusal", "register"]


def register(app: FastAPI) -> None:
    """Mount the API's routers under /api/v1."""
    from services.ticket_store.api import admin, attachments, auth_routes, client, staff

    for r in (
        auth_routes.router,
        staff.router,
        staff.incoming_router,
        attachments.router,
        client.router,
        admin.router,
    ):
        app.include_router(r, prefix=API_PREFIX, responses=RESPONSES)
