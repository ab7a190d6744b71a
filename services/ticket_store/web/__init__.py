"""The web pages: server-rendered HTML for staff and clients (Jinja2, plain HTML forms),
an adapter over the store's application core, sibling of the JSON API (`api/`).

Browsers without scripts get the same helpdesk through the same core: the session
cookie and login check of `http`, `access` for who may see what, `queries` and
`presenters` for what pages show, `actions` for every change. Forms cannot send the
X-CSRF-Token header, so every POST carries the session's CSRF token in a hidden
`csrf_token` field. No page is in the OpenAPI document.

Owns the pages, their form models, templates and the error page (`errors`). May
import the core, `auth`, `http.sessions`, `http.login` and `http.deps`; never `api`.
Where things are:
- `common`: templates, who is asking (`Who`, `need`), `Pages` (a module's pages and
  form actions), `View` (what a page is shown with), `act` for form posts;
- `forms`, `admin_forms`: one pydantic model per form; `paging`: the long lists' pages;
- `login`: `/`, `/login`, `/logout`;
- `staff_tickets`: `/tickets…`; `incoming`: `/incoming…`; `replies`: `/replies…`;
- `support`: `/support…` (the clients' pages);
- `admin_*`: `/admin/…`, administrators only, mirroring the admin API.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from services.ticket_store.web import (
    admin_clients,
    admin_departments,
    admin_gateway_oauth2,
    admin_gateways,
    admin_operations,
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
    error_page,
    redirect_to_login,
    show_refusal,
)
from services.ticket_store.web.errors import explain

__all__ = ["refusal", "register", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(admin_operations.router)  # mail log, dead letters, gateway health
for _pages in (
    staff_tickets,
    incoming,
    replies,
    support,
    admin_departments,
    admin_staff,
    admin_gateways,
    admin_gateway_oauth2,
    admin_clients,
    admin_ratings,
):
    router.include_router(_pages.pages.router)


def register(app: FastAPI) -> None:
    """Mount the pages, their stylesheet and their error pages on the app."""
    app.include_router(router)
    # check_dir=False: a missing stylesheet folder must not stop the JSON API from starting.
    app.mount("/static", StaticFiles(directory=HERE / "static", check_dir=False), name="static")
    app.add_exception_handler(LoginRequired, redirect_to_login)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, show_refusal)  # type: ignore[arg-type]


def refusal(request: Request, exc: Exception) -> Response:
    """A refusal of the core outside a form's action: the error page with its status."""
    status, message = explain(exc)
    return error_page(request, status, message)
