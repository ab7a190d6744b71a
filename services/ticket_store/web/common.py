"""What every web page shares: templates, who is asking, the CSRF check, and form actions.

The pages are a thin skin over the JSON API's pieces, so the rules live here once:
the session cookie is resolved by the same `auth.resolve`, ticket lookups raise the
API's 403/404, and `act` runs each form's change in one transaction and turns a
service-layer refusal into the same page shown again with the reason.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.ticket_store import auth
from services.ticket_store.api import views
from services.ticket_store.api.deps import SESSION_COOKIE, client_ticket, staff_ticket
from services.ticket_store.domain.errors import (
    Conflict,
    InsufficientIncidents,
    InvalidTransition,
    NotFound,
)
from services.ticket_store.domain.text import sanitise_html
from services.ticket_store.models import Client, Staff, Ticket

HERE = Path(__file__).parent
MAX_ID = 2**31 - 1

# Pages never run scripts and never load anything from elsewhere (mail HTML may
# carry remote images: they are not fetched).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

STATUS_LABELS = {
    "new": "New",
    "in_progress": "In progress",
    "awaiting_client": "Awaiting the client's reply",
    "closed": "Closed",
    "archived": "Archived",
    "new_messages": "New messages",
    "converted": "Converted",
    "deleted": "Deleted",
    "spam": "Spam",
}

# Fixed texts for ?done=…, so a link cannot put words of its own on our pages.
NOTICES = {
    "replied": "Your reply was sent.",
    "noted": "The internal note was added.",
    "assigned": "The ticket is assigned to you.",
    "status": "The status was changed.",
    "closed": "The ticket is closed.",
    "opened": "Your ticket was opened.",
    "converted": "The email is now a ticket.",
    "attached": "The email was added to the ticket.",
    "discarded": "The email was discarded.",
    "reply-added": "The pre-defined reply was added.",
    "reply-deleted": "The pre-defined reply was deleted.",
}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["status"] = lambda s: STATUS_LABELS.get(s, s)
    return env


templates = Jinja2Templates(env=_environment())

# ------------------------------------------------------------------ who is asking


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""


class Refused(Exception):
    """A page the person may not see, or that does not exist: shown as an error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Who:
    """The logged-in person of a page: staff or client, with the session's CSRF token."""

    principal: auth.Principal
    name: str
    staff: Staff | None = None
    client: Client | None = None

    @property
    def kind(self) -> str:
        return self.principal.kind


def current_who(request: Request, session: Session) -> Who | None:
    """The session cookie's owner, through the same `auth.resolve` as the JSON API."""
    principal = auth.resolve(session, request.cookies.get(SESSION_COOKIE, ""), "session")
    if principal is None:
        return None
    if principal.kind == "staff":
        staff = session.get(Staff, principal.id)
        if staff is None or not staff.active:
            return None
        return Who(principal, staff.name, staff=staff)
    client = session.get(Client, principal.id)
    return Who(principal, client.name, client=client) if client else None


def _need(request: Request, session: Session, kind: str) -> Who:
    """Who is asking, if logged in as `kind`; else to the login page, or a 403."""
    who = current_who(request, session)
    if who is None:
        raise LoginRequired()
    if who.kind != kind:
        raise Refused(403, f"This page is for {'staff' if kind == 'staff' else 'clients'} only.")
    return who


def need_staff(request: Request, session: Session) -> tuple[Who, Staff]:
    """For staff pages: the logged-in staff member (or login redirect / 403)."""
    who = _need(request, session, "staff")
    assert who.staff is not None
    return who, who.staff


def need_client(request: Request, session: Session) -> tuple[Who, Client]:
    """For the support center: the logged-in client (or login redirect / 403)."""
    who = _need(request, session, "client")
    assert who.client is not None
    return who, who.client


def check_csrf(who: Who, sent: str) -> None:
    """Forms cannot send the X-CSRF-Token header, so the token comes as a form field."""
    expected = who.principal.csrf_token.encode()
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected):
        raise Refused(
            403, "The form is missing its security token or it is wrong; reload the page."
        )


def form_number(value: str | int | None) -> int | None:
    """A positive id typed into a form, or None."""
    text = str(value if value is not None else "").strip().lstrip("#")
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        return None
    return int(text)


def _refusal(exc: HTTPException) -> Refused:
    return Refused(exc.status_code, str(exc.detail))


def find_staff_ticket(session: Session, staff: Staff, number: int) -> Ticket:
    """The same rule as the API: 404 if missing, 403 in a department the staff member is not in."""
    if number > MAX_ID:
        raise Refused(404, f"ticket #{number} does not exist")
    try:
        return staff_ticket(session, staff, number)
    except HTTPException as exc:
        raise _refusal(exc) from exc


def find_client_ticket(session: Session, client: Client, number: int) -> Ticket:
    """A client's own ticket; anyone else's is 'does not exist', as in the API."""
    if number > MAX_ID:
        raise Refused(404, f"ticket #{number} does not exist")
    try:
        return client_ticket(session, client, number)
    except HTTPException as exc:
        raise _refusal(exc) from exc


# ------------------------------------------------------------------ rendering and actions


def render_page(
    request: Request,
    name: str,
    who: Who | None,
    context: dict[str, object] | None = None,
    status: int = 200,
) -> Response:
    """A template with what every page needs (who, CSRF token, ?done notice) and our headers."""
    ctx: dict[str, object] = {
        "who": who,
        "csrf": who.principal.csrf_token if who else "",
        "error": "",
        "notice": NOTICES.get(request.query_params.get("done", ""), ""),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def _explain(exc: Exception) -> tuple[int, str]:
    """A service-layer refusal as an HTTP status and a sentence for the page."""
    if isinstance(exc, NotFound):
        return 404, f"{exc} does not exist."
    if isinstance(exc, InsufficientIncidents):
        return 402, str(exc)
    if isinstance(exc, ValidationError):
        return 422, "Some of the fields are not valid."
    if isinstance(exc, Conflict | InvalidTransition):
        return 409, str(exc)
    if isinstance(exc, IntegrityError):
        return 409, "This conflicts with existing data (a duplicate?)."
    return 422, str(exc)


SERVICE_ERRORS = (NotFound, InsufficientIncidents, ValueError, IntegrityError)
ErrorPage = Callable[[Session, Who, int, str], Response]


def act(
    request: Request,
    kind: str,
    csrf_token: str,
    work: Callable[[Session, Who], str],
    on_error: ErrorPage,
) -> Response:
    """Log-in check, CSRF check and the change in one transaction, then 303 to `work`'s URL.

    A refusal of the service layer rolls the whole transaction back (some service
    functions change a row before they refuse) and the page is shown again, in a
    fresh transaction, with the reason.
    """
    db = request.app.state.db
    try:
        with db.transaction() as s:
            who = _need(request, s, kind)
            check_csrf(who, csrf_token)
            target = work(s, who)
    except SERVICE_ERRORS as exc:
        status, message = _explain(exc)
        with db.transaction() as s:
            return on_error(s, _need(request, s, kind), status, message)
    return RedirectResponse(target, status_code=303)


# ------------------------------------------------------------------ error pages (see `register`)


def redirect_to_login(request: Request, exc: LoginRequired) -> Response:
    """A page needing a login, asked for without one: the browser goes to the login form."""
    return RedirectResponse("/login", status_code=303)


def show_refusal(request: Request, exc: Refused) -> Response:
    """The error page, in a fresh transaction (the failed one may have been rolled back)."""
    with request.app.state.db.transaction() as s:
        who = current_who(request, s)
        return render_page(request, "error.html", who, {"message": exc.message}, exc.status)


# ------------------------------------------------------------------ shared by several pages


@dataclass(frozen=True)
class ShownMessage:
    """A message as a page shows it: sanitised HTML only when there is no plain text."""

    m: views.MessageOut
    html: Markup | None


def shown_messages(messages: list[views.MessageOut]) -> list[ShownMessage]:
    """A ticket's messages for a page (staff and client ticket pages)."""
    # The store keeps HTML already cleaned by nh3; cleaning again costs little and
    # keeps the page safe even if a row was written by an older version.
    return [
        ShownMessage(m, None if m.text.strip() or not m.html else Markup(sanitise_html(m.html)))
        for m in messages
    ]


def message_text(value: str, limit: int = 200_000) -> str:
    """A typed message, refused (as a ValueError for `act`) when empty or too long."""
    if not value.strip():
        raise ValueError("The message is empty.")
    if len(value) > limit:
        raise ValueError(f"The message is longer than {limit} characters.")
    return value
