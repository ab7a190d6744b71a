"""The web interface: server-rendered pages for staff and clients (Jinja2, plain HTML forms).

It is a thin skin over the same pieces as the JSON API: the session cookie and
login rate limit of `auth` / `auth_routes`, one database transaction per unit of
work, the permission helpers of `deps`, and the service layer for every change.
Browsers cannot send the X-CSRF-Token header from a form, so every POST carries
the session's CSRF token in a hidden `csrf_token` field instead. No route here
is part of the OpenAPI document (`include_in_schema=False`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.ticket_store import auth, service
from services.ticket_store.api import auth_routes, views
from services.ticket_store.api.deps import SESSION_COOKIE, SessionDep, client_ticket, staff_ticket
from services.ticket_store.models import Client, Department, IncomingEmail, Staff, Ticket
from services.ticket_store.web import queries

HERE = Path(__file__).parent
LOGIN_CSRF_COOKIE = "supportdesk_login_csrf"
MAX_ID = 2**31 - 1

router = APIRouter(include_in_schema=False)

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
    principal: auth.Principal
    name: str
    staff: Staff | None = None
    client: Client | None = None

    @property
    def kind(self) -> str:
        return self.principal.kind


def _who(request: Request, session: Session) -> Who | None:
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
    who = _who(request, session)
    if who is None:
        raise LoginRequired()
    if who.kind != kind:
        raise Refused(403, f"This page is for {'staff' if kind == 'staff' else 'clients'} only.")
    return who


def _need_staff(request: Request, session: Session) -> tuple[Who, Staff]:
    who = _need(request, session, "staff")
    assert who.staff is not None
    return who, who.staff


def _need_client(request: Request, session: Session) -> tuple[Who, Client]:
    who = _need(request, session, "client")
    assert who.client is not None
    return who, who.client


def _check_csrf(who: Who, sent: str) -> None:
    expected = who.principal.csrf_token.encode()
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected):
        raise Refused(
            403, "The form is missing its security token or it is wrong; reload the page."
        )


def _number(value: str | int | None) -> int | None:
    """A positive id typed into a form, or None."""
    text = str(value if value is not None else "").strip().lstrip("#")
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        return None
    return int(text)


def _refusal(exc: HTTPException) -> Refused:
    return Refused(exc.status_code, str(exc.detail))


def _staff_ticket(session: Session, staff: Staff, number: int) -> Ticket:
    """The same rule as the API: 404 if missing, 403 in a department the staff member is not in."""
    if number > MAX_ID:
        raise Refused(404, f"ticket #{number} does not exist")
    try:
        return staff_ticket(session, staff, number)
    except HTTPException as exc:
        raise _refusal(exc) from exc


def _client_ticket(session: Session, client: Client, number: int) -> Ticket:
    """A client's own ticket; anyone else's is 'does not exist', as in the API."""
    if number > MAX_ID:
        raise Refused(404, f"ticket #{number} does not exist")
    try:
        return client_ticket(session, client, number)
    except HTTPException as exc:
        raise _refusal(exc) from exc


def _incoming(session: Session, staff: Staff, incoming_id: int) -> IncomingEmail:
    """Mirrors the JSON API's check: only staff of the email's department."""
    row = session.get(IncomingEmail, incoming_id) if incoming_id <= MAX_ID else None
    if row is None:
        raise Refused(404, f"incoming email {incoming_id} does not exist")
    if not service.can_handle(staff, row.department_id):
        raise Refused(403, "This email came in for a department you do not work in.")
    return row


# ------------------------------------------------------------------ rendering and actions


def _page(
    request: Request,
    name: str,
    who: Who | None,
    context: dict[str, object] | None = None,
    status: int = 200,
) -> Response:
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
    if isinstance(exc, service.NotFound):
        return 404, f"{exc} does not exist."
    if isinstance(exc, service.InsufficientIncidents):
        return 402, str(exc)
    if isinstance(exc, ValidationError):
        return 422, "Some of the fields are not valid."
    if isinstance(exc, service.Conflict | service.InvalidTransition):
        return 409, str(exc)
    if isinstance(exc, IntegrityError):
        return 409, "This conflicts with existing data (a duplicate?)."
    return 422, str(exc)


SERVICE_ERRORS = (service.NotFound, service.InsufficientIncidents, ValueError, IntegrityError)
ErrorPage = Callable[[Session, Who, int, str], Response]


def _act(
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
            _check_csrf(who, csrf_token)
            target = work(s, who)
    except SERVICE_ERRORS as exc:
        status, message = _explain(exc)
        with db.transaction() as s:
            return on_error(s, _need(request, s, kind), status, message)
    return RedirectResponse(target, status_code=303)


def _login_required(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse("/login", status_code=303)


def _refused(request: Request, exc: Refused) -> Response:
    with request.app.state.db.transaction() as s:
        who = _who(request, s)
        return _page(request, "error.html", who, {"message": exc.message}, exc.status)


def register(app: FastAPI) -> None:
    """Mount the pages, their stylesheet and their error pages on the app."""
    app.include_router(router)
    # check_dir=False: a missing stylesheet folder must not stop the JSON API from starting.
    app.mount("/static", StaticFiles(directory=HERE / "static", check_dir=False), name="static")
    app.add_exception_handler(LoginRequired, _login_required)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, _refused)  # type: ignore[arg-type]


# ------------------------------------------------------------------ login and logout


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    who = _who(request, session)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/tickets" if who.kind == "staff" else "/support", status_code=303)


def _login_page(
    request: Request, *, role: str, email: str = "", error: str = "", status: int = 200
) -> Response:
    """The form carries a per-browser token (double submit) so no other site can log us in."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = _page(
        request,
        "login.html",
        None,
        {"role": role, "email": email, "login_token": token, "error": error},
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        secure=request.app.state.secure_cookies,
        samesite="strict",
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, session: SessionDep, role: str = "client") -> Response:
    if _who(request, session) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request, role="staff" if role == "staff" else "client")


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "client",
    login_token: Annotated[str, Form()] = "",
) -> Response:
    """The JSON API's login (rate limit, constant-time check), then the same session cookie."""
    role = "staff" if role == "staff" else "client"
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), login_token.encode()):
        return _login_page(
            request, role=role, email=email, error="The form expired; try again.", status=403
        )
    try:
        who = auth_routes.check_login(
            request, views.LoginIn(email=email, password=password, role=role)
        )
    except ValidationError:
        return _login_page(
            request, role=role, email=email, error="Wrong email or password.", status=401
        )
    except HTTPException as exc:
        message = (
            "Too many failed logins; try again later."
            if exc.status_code == 429
            else "Wrong email or password."
        )
        return _login_page(request, role=role, email=email, error=message, status=exc.status_code)
    with request.app.state.db.transaction() as s:
        kwargs = {"staff": who} if isinstance(who, Staff) else {"client": who}
        secret, _row = auth.issue(s, kind="session", **kwargs)  # type: ignore[arg-type]
    response = RedirectResponse("/tickets" if role == "staff" else "/support", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        httponly=True,
        secure=request.app.state.secure_cookies,
        samesite="strict",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    with request.app.state.db.transaction() as s:
        who = _who(request, s)
        if who is not None:
            _check_csrf(who, csrf_token)
            auth.revoke(s, who.principal.token_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------ staff: tickets


@router.get("/tickets")
def tickets(request: Request, session: SessionDep, status: str = "") -> Response:
    who, staff = _need_staff(request, session)
    status = status if status in queries.STAFF_STATUSES else ""
    deps = sorted(d.name for d in staff.departments)
    return _page(
        request,
        "tickets.html",
        who,
        {
            "rows": queries.staff_tickets(session, staff, status or None),
            "status": status,
            "statuses": queries.STAFF_STATUSES,
            "departments": deps,
        },
    )


@dataclass(frozen=True)
class ShownMessage:
    """A message as a page shows it: sanitised HTML only when there is no plain text."""

    m: views.MessageOut
    html: Markup | None


def _shown(messages: list[views.MessageOut]) -> list[ShownMessage]:
    # The store keeps HTML already cleaned by nh3; cleaning again costs little and
    # keeps the page safe even if a row was written by an older version.
    return [
        ShownMessage(
            m, None if m.text.strip() or not m.html else Markup(service.sanitise_html(m.html))
        )
        for m in messages
    ]


def _staff_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    draft: str = "",
    chosen: int | None = None,
) -> Response:
    assert who.staff is not None
    ticket = _staff_ticket(session, who.staff, number)
    detail = views.ticket_detail(session, ticket)
    values = service.reply_placeholders(session, ticket, who.staff)
    offered = [
        (r.id, r.title, service.fill_placeholders(r.text, values))
        for r in service.replies_for(session, who.staff, ticket.department_id)
    ]
    if chosen is not None and not draft:
        draft = next((text for rid, _t, text in offered if rid == chosen), "")
        if not draft:
            chosen = None
    assignee = session.get(Staff, ticket.assigned_staff_id) if ticket.assigned_staff_id else None
    return _page(
        request,
        "ticket.html",
        who,
        {
            "t": detail,
            "messages": _shown(detail.messages),
            "offered": offered,
            "draft": draft,
            "chosen": chosen,
            "assignee": assignee.name if assignee else "",
            "statuses": queries.STAFF_STATUSES,
            "error": error,
        },
        status,
    )


@router.get("/tickets/{number:int}")
def ticket(request: Request, session: SessionDep, number: int, reply: str = "") -> Response:
    """The ticket; ?reply=<id> puts that pre-defined reply, filled in, into the reply box."""
    who, _staff = _need_staff(request, session)
    return _staff_ticket_page(request, session, who, number, chosen=_number(reply))


def _ticket_error(request: Request, number: int, draft: str = "") -> ErrorPage:
    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _staff_ticket_page(
            request, s, who, number, error=message, status=status, draft=draft
        )

    return show


def _text(value: str, limit: int = 200_000) -> str:
    if not value.strip():
        raise ValueError("The message is empty.")
    if len(value) > limit:
        raise ValueError(f"The message is longer than {limit} characters.")
    return value


@router.post("/tickets/{number:int}/reply")
def reply(
    request: Request,
    number: int,
    text: Annotated[str, Form()] = "",
    predefined_reply_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Send a reply by email; with a pre-defined reply and no text, its filled-in text is sent."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = _staff_ticket(s, who.staff, number)
        chosen_id = _number(predefined_reply_id)
        body = text
        if predefined_reply_id.strip():
            available = {r.id: r for r in service.replies_for(s, who.staff, ticket.department_id)}
            chosen = available.get(chosen_id) if chosen_id else None
            if chosen is None:
                raise service.NotFound(
                    f"pre-defined reply {predefined_reply_id.strip()} for you here"
                )
            if not body.strip():
                values = service.reply_placeholders(s, ticket, who.staff)
                body = service.fill_placeholders(chosen.text, values)
        settings = request.app.state.settings
        service.staff_reply(
            s,
            settings.topics,
            who.staff,
            ticket,
            _text(body),
            message_id_domain=settings.message_id_domain,
            predefined_reply_id=chosen_id if predefined_reply_id.strip() else None,
        )
        return f"/tickets/{number}?done=replied"

    return _act(request, "staff", csrf_token, work, _ticket_error(request, number, text))


@router.post("/tickets/{number:int}/note")
def note(
    request: Request,
    number: int,
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """An internal note: staff only, never mailed, never shown to the client."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = _staff_ticket(s, who.staff, number)
        service.add_note(s, request.app.state.settings.topics, who.staff, ticket, _text(text))
        return f"/tickets/{number}?done=noted"

    return _act(request, "staff", csrf_token, work, _ticket_error(request, number, text))


@router.post("/tickets/{number:int}/assign")
def assign(request: Request, number: int, csrf_token: Annotated[str, Form()] = "") -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = _staff_ticket(s, who.staff, number)
        service.assign_to_me(s, request.app.state.settings.topics, who.staff, ticket)
        return f"/tickets/{number}?done=assigned"

    return _act(request, "staff", csrf_token, work, _ticket_error(request, number))


@router.post("/tickets/{number:int}/status")
def set_status(
    request: Request,
    number: int,
    status: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        ticket = _staff_ticket(s, who.staff, number)
        service.change_status(
            s, request.app.state.settings.topics, ticket, status, actor=f"staff:{who.staff.id}"
        )
        return f"/tickets/{number}?done=status"

    return _act(request, "staff", csrf_token, work, _ticket_error(request, number))


# ------------------------------------------------------------------ staff: incoming emails


@router.get("/incoming")
def incoming(request: Request, session: SessionDep, status: str = "new") -> Response:
    who, staff = _need_staff(request, session)
    status = status if status in queries.INCOMING_STATUSES else "new"
    deps = {d.id: d.name for d in staff.departments}
    return _page(
        request,
        "incoming.html",
        who,
        {
            "rows": queries.incoming_for(session, staff, status),
            "status": status,
            "statuses": queries.INCOMING_STATUSES,
            "departments": deps,
        },
    )


def _incoming_page(
    request: Request,
    session: Session,
    who: Who,
    incoming_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    assert who.staff is not None
    row = _incoming(session, who.staff, incoming_id)
    dep = session.get(Department, row.department_id)
    html = Markup(service.sanitise_html(row.html)) if row.html and not row.text.strip() else None
    return _page(
        request,
        "incoming_detail.html",
        who,
        {
            "e": views.incoming_detail(row),
            "html": html,
            "department": dep.name if dep else "",
            "error": error,
        },
        status,
    )


@router.get("/incoming/{incoming_id:int}")
def incoming_detail(request: Request, session: SessionDep, incoming_id: int) -> Response:
    who, _staff = _need_staff(request, session)
    return _incoming_page(request, session, who, incoming_id)


def _incoming_error(request: Request, incoming_id: int) -> ErrorPage:
    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _incoming_page(request, s, who, incoming_id, error=message, status=status)

    return show


@router.post("/incoming/{incoming_id:int}/convert")
def convert(
    request: Request,
    incoming_id: int,
    client_name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new client from the sender; the email becomes their ticket."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        if len(client_name) > 200:
            raise ValueError("The client's name is longer than 200 characters.")
        ticket = service.convert_incoming(
            s,
            request.app.state.settings.topics,
            who.staff,
            row,
            client_name=client_name.strip() or None,
        )
        return f"/tickets/{ticket.number}?done=converted"

    return _act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


@router.post("/incoming/{incoming_id:int}/attach-client")
def attach_client(
    request: Request,
    incoming_id: int,
    client: Annotated[str, Form()] = "",
    register_address: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new ticket of an existing client (given by email or number)."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        found = queries.find_client(s, client)
        if found is None:
            raise service.NotFound(f"client {client.strip()!r}")
        ticket = service.attach_incoming_to_client(
            s,
            request.app.state.settings.topics,
            who.staff,
            row,
            found.id,
            register_address=bool(register_address),
        )
        return f"/tickets/{ticket.number}?done=converted"

    return _act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


@router.post("/incoming/{incoming_id:int}/attach-ticket")
def attach_ticket(
    request: Request,
    incoming_id: int,
    ticket_number: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The email joins a ticket the staff member may handle, as the client's message."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        number = _number(ticket_number)
        if number is None:
            raise ValueError("Give the ticket's number.")
        ticket = _staff_ticket(s, who.staff, number)
        service.attach_incoming_to_ticket(
            s, request.app.state.settings.topics, who.staff, row, ticket
        )
        return f"/tickets/{ticket.number}?done=attached"

    return _act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


@router.post("/incoming/{incoming_id:int}/discard")
def discard(
    request: Request,
    incoming_id: int,
    status: Annotated[str, Form()] = "deleted",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Delete, or mark as spam; the row stays for the audit trail."""

    def work(s: Session, who: Who) -> str:
        assert who.staff is not None
        row = _incoming(s, who.staff, incoming_id)
        service.discard_incoming(s, who.staff, row, status)
        return "/incoming?done=discarded"

    return _act(request, "staff", csrf_token, work, _incoming_error(request, incoming_id))


# ------------------------------------------------------------------ staff: pre-defined replies


def _replies_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    assert who.staff is not None
    dep_names, staff_names = queries.names(session)
    admin = who.staff.is_admin
    return _page(
        request,
        "replies.html",
        who,
        {
            "replies": queries.visible_replies(session, who.staff),
            "dep_names": dep_names,
            "staff_names": staff_names,
            "can_manage": admin,
            "all_departments": queries.all_departments(session) if admin else [],
            "all_staff": queries.active_staff(session) if admin else [],
            "form": form or {},
            "error": error,
        },
        status,
    )


@router.get("/replies")
def replies(request: Request, session: SessionDep) -> Response:
    who, _staff = _need_staff(request, session)
    return _replies_page(request, session, who)


def _require_admin(who: Who) -> Staff:
    """Only administrators add or delete replies, as in the JSON API (/admin/predefined-replies)."""
    if who.staff is None or not who.staff.is_admin:
        raise Refused(403, "Only administrators add or delete pre-defined replies.")
    return who.staff


@router.post("/replies")
def add_reply(
    request: Request,
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "all",
    department_id: Annotated[str, Form()] = "",
    staff_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "title": title,
        "text": text,
        "scope": scope,
        "department_id": department_id,
        "staff_id": staff_id,
    }

    def work(s: Session, who: Who) -> str:
        admin = _require_admin(who)
        if not title.strip() or len(title) > 200:
            raise ValueError("The title has 1 to 200 characters.")
        service.add_predefined_reply(
            s,
            title.strip(),
            _text(text),
            scope=scope,
            department_id=_number(department_id),
            staff_id=_number(staff_id),
            actor=f"staff:{admin.id}",
        )
        return "/replies?done=reply-added"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _replies_page(request, s, who, error=message, status=status, form=form)

    return _act(request, "staff", csrf_token, work, show)


@router.post("/replies/{reply_id:int}/delete")
def delete_reply(
    request: Request, reply_id: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def work(s: Session, who: Who) -> str:
        admin = _require_admin(who)
        service.delete_predefined_reply(s, min(reply_id, MAX_ID), actor=f"staff:{admin.id}")
        return "/replies?done=reply-deleted"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _replies_page(request, s, who, error=message, status=status)

    return _act(request, "staff", csrf_token, work, show)


# ------------------------------------------------------------------ clients: support center


@router.get("/support")
def support(request: Request, session: SessionDep) -> Response:
    who, client = _need_client(request, session)
    return _page(
        request,
        "support.html",
        who,
        {
            "departments": queries.support_departments(session),
            "balance": service.incident_balance(session, client.id),
            "tickets": [
                views.client_ticket_out(session, t) for t in queries.client_tickets(session, client)
            ],
        },
    )


def _new_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    department_id: int | None,
    *,
    subject: str = "",
    text: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    """The form for one department: incidents left, a warning where support is paid, and the
    department's own notice instead of the form when none are left."""
    assert who.client is not None
    shown = queries.support_departments(session)
    dep = next((d for d in shown if d.id == department_id), None)
    balance = service.incident_balance(session, who.client.id)
    return _page(
        request,
        "support_new.html",
        who,
        {
            "departments": shown,
            "dep": dep,
            "balance": balance,
            "blocked": bool(dep and dep.per_incident and balance < 1),
            "subject": subject,
            "text": text,
            "error": error,
        },
        status,
    )


@router.get("/support/new")
def new_ticket_form(request: Request, session: SessionDep, department_id: str = "") -> Response:
    who, _client = _need_client(request, session)
    return _new_ticket_page(request, session, who, _number(department_id))


@router.post("/support/tickets")
def open_ticket(
    request: Request,
    department_id: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new ticket, under the incident rule of the service layer (the same as the API)."""
    dep_id = _number(department_id)

    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        if dep_id is None:
            raise ValueError("Choose a department.")
        if not subject.strip() or len(subject) > 998:
            raise ValueError("The subject has 1 to 998 characters.")
        ticket = service.open_ticket_by_client(
            s, request.app.state.settings.topics, who.client, dep_id, subject, _text(text)
        )
        return f"/support/tickets/{ticket.number}?done=opened"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _new_ticket_page(
            request, s, who, dep_id, subject=subject, text=text, error=message, status=status
        )

    return _act(request, "client", csrf_token, work, show)


def _client_ticket_page(
    request: Request,
    session: Session,
    who: Who,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    draft: str = "",
) -> Response:
    """What the JSON client API shows: no internal notes, no delivery details."""
    assert who.client is not None
    detail = views.client_ticket_detail(session, _client_ticket(session, who.client, number))
    return _page(
        request,
        "support_ticket.html",
        who,
        {"t": detail, "messages": _shown(detail.messages), "draft": draft, "error": error},
        status,
    )


@router.get("/support/tickets/{number:int}")
def client_ticket_page(request: Request, session: SessionDep, number: int) -> Response:
    who, _client = _need_client(request, session)
    return _client_ticket_page(request, session, who, number)


@router.post("/support/tickets/{number:int}/reply")
def client_reply(
    request: Request,
    number: int,
    text: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        ticket = _client_ticket(s, who.client, number)
        service.client_message(
            s, request.app.state.settings.topics, who.client, ticket, _text(text)
        )
        return f"/support/tickets/{number}?done=replied"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _client_ticket_page(
            request, s, who, number, error=message, status=status, draft=text
        )

    return _act(request, "client", csrf_token, work, show)


@router.post("/support/tickets/{number:int}/close")
def client_close(
    request: Request, number: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def work(s: Session, who: Who) -> str:
        assert who.client is not None
        ticket = _client_ticket(s, who.client, number)
        service.change_status(
            s, request.app.state.settings.topics, ticket, "closed", actor=f"client:{who.client.id}"
        )
        return f"/support/tickets/{number}?done=closed"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _client_ticket_page(request, s, who, number, error=message, status=status)

    return _act(request, "client", csrf_token, work, show)


__all__ = ["register", "router"]
