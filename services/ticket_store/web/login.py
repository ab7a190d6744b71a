"""Log in and out of the web pages, and `/`, which sends each person to their start page.

Login is the check the API uses (`http.login`: rate limit, constant-time compare)
and ends with the same session cookie (`http.sessions`), so both interfaces share
one session.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.ticket_store.http import sessions
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.http.login import LoginRefused, check_login
from services.ticket_store.web.common import check_csrf, current_who, render_page
from services.ticket_store.web.forms import LoginForm, Posted, WebForm, posted

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "supportdesk_login_csrf"
MESSAGES = {401: "Wrong email or password.", 429: "Too many failed logins; try again later."}


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    who = current_who(request, session)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/tickets" if who.kind == "staff" else "/support", status_code=303)


def _login_page(
    request: Request, *, role: str, email: str = "", error: str = "", status: int = 200
) -> Response:
    """The form carries a per-browser token (double submit) so no other site can log us in."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render_page(
        request,
        "login.html",
        None,
        {"role": role, "email": email, "login_token": token},
        error=error,
        status=status,
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
    if current_who(request, session) is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request, role="staff" if role == "staff" else "client")


@router.post("/login")
def login(request: Request, form: Posted[LoginForm] = posted(LoginForm)) -> Response:
    """The API's login check, then the same session cookie."""
    body = form.valid()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), body.login_token.encode()):
        return _login_page(
            request,
            role=body.role,
            email=body.email,
            error="The form expired; try again.",
            status=403,
        )
    try:
        who = check_login(request, body.email, body.password, body.role)
    except LoginRefused as exc:
        return _login_page(
            request, role=body.role, email=body.email, error=MESSAGES[exc.status], status=exc.status
        )
    response = RedirectResponse("/tickets" if body.role == "staff" else "/support", status_code=303)
    with request.app.state.db.transaction() as s:
        sessions.start_session(s, request, response, who)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, form: Posted[WebForm] = posted(WebForm)) -> Response:
    response = RedirectResponse("/login", status_code=303)
    with request.app.state.db.transaction() as s:
        who = current_who(request, s)
        if who is not None:
            check_csrf(who, form)
        sessions.end_session(s, who.principal if who else None, response)
    return response
