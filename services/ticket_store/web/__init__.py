"""The web interface: server-rendered pages for staff and clients (Jinja2, plain HTML forms).

Why it exists next to the JSON API: browsers without scripts get the same
helpdesk, through the same pieces — the session cookie and login rate limit of
`auth` / `auth_routes`, one database transaction per unit of work, the
permission helpers of `deps`, and the service layer for every change. Browsers
cannot send the X-CSRF-Token header from a form, so every POST carries the
session's CSRF token in a hidden `csrf_token` field instead. No route here is
part of the OpenAPI document (`include_in_schema=False`).

Where things are:
- `common`: templates, who is asking (`Who`), CSRF check, `act` for form posts,
  error pages, shared helpers;
- `login`: `/`, `/login`, `/logout`;
- `staff_tickets`: `/tickets…`;
- `incoming`: `/incoming…` (emails not yet in a ticket);
- `replies`: `/replies…` (pre-defined replies);
- `support`: `/support…` (the clients' pages);
- `admin_departments` (also the `/admin` start page), `admin_staff`,
  `admin_gateways`, `admin_clients`, `admin_ratings` (clients' ratings of staff
  replies): `/admin/…`, administrators only, mirroring
  the JSON admin API; `admin_common` holds their admin check and form helpers;
- `queries`: the read-only database queries the pages list from.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.ticket_store.web import (
    admin_clients,
    admin_departments,
    admin_gateways,
    admin_ratings,
    admin_staff,
    incoming,
    login,
    replies,
    staff_tickets,
    support,
)
from services.ticket_store.web.common import (
    HERE,
    LoginRequired,
    Refused,
    redirect_to_login,
    show_refusal,
)

# All pages, in the order they were always registered, then the administrators' pages.
router = APIRouter(include_in_schema=False)
for _pages in (
    login,
    staff_tickets,
    incoming,
    replies,
    support,
    admin_departments,
    admin_staff,
    admin_gateways,
    admin_clients,
    admin_ratings,
):
    router.include_router(_pages.router)


def register(app: FastAPI) -> None:
    """Mount the pages, their stylesheet and their error pages on the app."""
    app.include_router(router)
    # check_dir=False: a missing stylesheet folder must not stop the JSON API from starting.
    app.mount("/static", StaticFiles(directory=HERE / "static", check_dir=False), name="static")
    app.add_exception_handler(LoginRequired, redirect_to_login)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, show_refusal)  # type: ignore[arg-type]


__all__ = ["register", "router"]
