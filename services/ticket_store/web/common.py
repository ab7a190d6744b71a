"""What every web page shares: templates, who is asking, and how pages and forms are served.

Who is asking comes from the session cookie, resolved as for the API
(`http.sessions`); what a person may see is decided by `access`. A module declares
its pages and form actions on a `Pages` group: a page is a function of a `View`; an
action gets the unit of work, the person and the checked form model, and `act`
runs it after the login and CSRF checks, showing the page again with the reason
(`errors`) when the core refuses.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from services.ticket_store import access
from services.ticket_store.auth import Principal
from services.ticket_store.domain.text import sanitise_html
from services.ticket_store.http import sessions
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.http.request_id import request_cause
from services.ticket_store.models import Client, Staff
from services.ticket_store.presenters import MessageOut
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.errors import FORM_REFUSALS, explain
from services.ticket_store.web.forms import Posted, WebForm, posted

HERE = Path(__file__).parent

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
    "reply-changed": "The pre-defined reply was changed.",
    "reply-deleted": "The pre-defined reply was deleted.",
    "department-added": "The department was added.",
    "department-saved": "The department was saved.",
    "staff-added": "The staff member was added.",
    "staff-saved": "The staff member was saved.",
    "gateway-added": "The mail gateway was added.",
    "gateway-saved": "The mail gateway was saved.",
    "oauth2-connected": "The mail gateway is connected with OAuth2.",
    "gateway-deleted": "The mail gateway was deleted.",
    "client-added": "The client was added.",
    "client-saved": "The client was saved.",
    "email-added": "The email address was added.",
    "email-removed": "The email address was removed.",
    "incidents": "The support incidents were changed.",
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
    """A page the person may not see: shown as the error page with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Kind = Literal["staff", "client", "admin"]


@dataclass(frozen=True)
class Who:
    """The logged-in person of a page: staff or client, with the session's CSRF token."""

    principal: Principal
    name: str
    staff: Staff | None = None
    client: Client | None = None

    @property
    def kind(self) -> str:
        return self.principal.kind

    @property
    def person(self) -> Any:
        """The Staff or Client row (typed `Any`: each page knows which it asked for)."""
        return self.staff or self.client


def current_who(request: Request, session: Session) -> Who | None:
    """The session cookie's owner (an active staff member or a client), or None."""
    principal = sessions.cookie_principal(request, session)
    found = sessions.person(session, principal) if principal else None
    if principal is None or found is None:
        return None
    if isinstance(found, Staff):
        return Who(principal, found.name, staff=found)
    return Who(principal, found.name, client=found)


def need(request: Request, session: Session, kind: Kind) -> Who:
    """Who is asking, if logged in as `kind`; else to the login page, or a 403."""
    who = current_who(request, session)
    if who is None:
        raise LoginRequired()
    if who.kind != ("client" if kind == "client" else "staff"):
        raise Refused(403, f"This page is for {'clients' if kind == 'client' else 'staff'} only.")
    if kind == "admin":
        access.require_admin(who.person)
    return who


def check_csrf(who: Who, form: Posted[Any]) -> None:
    """Forms cannot send the X-CSRF-Token header, so the token comes as a form field."""
    if not sessions.csrf_ok(who.principal, form.csrf_token):
        raise Refused(
            403, "The form is missing its security token or it is wrong; reload the page."
        )


# ------------------------------------------------------------------ rendering and actions


def render_page(
    request: Request,
    name: str,
    who: Who | None,
    context: dict[str, object] | None = None,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    """A template with what every page needs (who, CSRF token, ?done notice) and our headers."""
    ctx: dict[str, object] = {
        "who": who,
        "csrf": who.principal.csrf_token if who else "",
        "error": error,
        "notice": NOTICES.get(request.query_params.get("done", ""), ""),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


@dataclass(frozen=True)
class View:
    """What a page is shown with: the request, a session to read with and who is asking;
    after a refused form also the form as posted, the reason and the status."""

    request: Request
    session: Session
    who: Who
    form: dict[str, Any] | None = None
    error: str = ""
    status: int = 200

    @property
    def person(self) -> Any:
        return self.who.person

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def render(self, template: str, **context: Any) -> Response:
        return render_page(
            self.request, template, self.who, context, error=self.error, status=self.status
        )


Page = Callable[..., Response]  # (view, **URL parameters) -> the page
Action = Callable[..., str]  # (uow, person, valid form, **URL parameters) -> where to go next


def act(
    request: Request,
    kind: Kind,
    form: Posted[Any],
    work: Callable[[UnitOfWork, Any], str],
    page: Page,
    page_kw: dict[str, Any],
) -> Response:
    """Log-in check, CSRF check and `work` (given the unit of work and the person) in one
    transaction, then 303 to the URL `work` returns.

    A refusal rolls the whole transaction back and shows `page` again, in a fresh
    transaction, with the form as posted and the reason; one the page cannot show
    (Forbidden …) ends in the error page.
    """
    db = request.app.state.db
    try:
        with db.transaction() as s:
            who = need(request, s, "client" if kind == "client" else "staff")
            check_csrf(who, form)  # before anything else is said about the request
            if kind == "admin":
                access.require_admin(who.person)
            actor = sessions.actor(who.principal)
            topics = request.app.state.settings.topics
            uow = UnitOfWork(s, topics, actor, cause=request_cause(request))
            target = work(uow, who.person)
    except FORM_REFUSALS as exc:
        status, message = explain(exc)
        with db.transaction() as s:
            view = View(request, s, need(request, s, kind), form.shown(), message, status)
            return page(view, **page_kw)
    return RedirectResponse(target, status_code=303)


class Pages:
    """A group of pages for one kind of person (staff, client, admin): GET pages, and the
    form actions posted from them, each shown again with the reason when refused."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.router = APIRouter(include_in_schema=False)

    def page(self, path: str) -> Callable[[Page], Page]:
        """Serve `show(view, **URL parameters)` at GET `path`."""

        def register(show: Page) -> Page:
            def endpoint(request: Request, session: SessionDep) -> Response:
                view = View(request, session, need(request, session, self.kind))
                return show(view, **request.path_params)

            endpoint.__doc__ = show.__doc__
            self.router.get(path, name=show.__name__)(endpoint)
            return show

        return register

    def action(
        self, path: str, model: type[WebForm], page: Page, kind: Kind | None = None
    ) -> Callable[[Action], Action]:
        """Serve POST `path`: the form `model`, checked, to `work(uow, person, form, **URL
        parameters)` (and `request=`, if `work` asks for it); refused, `page` again."""
        wanted = set(inspect.signature(page).parameters)

        def register(work: Action) -> Action:
            asks_request = "request" in inspect.signature(work).parameters

            def endpoint(request: Request, form: Posted[Any] = posted(model)) -> Response:
                params = request.path_params
                extra = {"request": request} if asks_request else {}

                def run(uow: UnitOfWork, person: Any) -> str:
                    return work(uow, person, form.valid(), **params, **extra)

                page_kw = {k: v for k, v in params.items() if k in wanted}
                return act(request, kind or self.kind, form, run, page, page_kw)

            endpoint.__doc__ = work.__doc__
            self.router.post(path, name=work.__name__)(endpoint)
            return work

        return register


def edit_page(
    view: View, heading: str, fields: str, back: tuple[str, str], current: dict, **context: Any
) -> Response:
    """One object of the directory and its edit form (`fields`, filled with the `current`
    values, or as posted after a refusal), with the way `back` to its list."""
    form = view.form or current
    return view.render(
        "admin_edit.html", heading=heading, fields=fields, back=back, form=form, **context
    )


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page, in a fresh transaction (the failed one has been rolled back)."""
    with request.app.state.db.transaction() as s:
        who = current_who(request, s)
        return render_page(request, "error.html", who, {"message": message}, status=status)


def redirect_to_login(request: Request, exc: LoginRequired) -> Response:
    """A page needing a login, asked for without one: the browser goes to the login form."""
    return RedirectResponse("/login", status_code=303)


def show_refusal(request: Request, exc: Refused) -> Response:
    return error_page(request, exc.status, exc.message)


# ------------------------------------------------------------------ shared by several pages


@dataclass(frozen=True)
class ShownMessage:
    """A message as a page shows it: sanitised HTML only when there is no plain text."""

    m: MessageOut
    html: Markup | None


def safe_html(text: str, html: str) -> Markup | None:
    """Mail HTML for a page, only when there is no plain text; cleaned again by nh3 (cheap,
    and safe even for a row written by an older version)."""
    return None if text.strip() or not html else Markup(sanitise_html(html))


def shown_messages(messages: list[MessageOut]) -> list[ShownMessage]:
    """A ticket's messages for a page (staff and client ticket pages)."""
    return [ShownMessage(m, safe_html(m.text, m.html)) for m in messages]
