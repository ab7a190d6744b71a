"""Log in and out of the web pages, and `/`, which sends each person to their start page.

Login goes through the JSON API's own check (rate limit, constant-time compare)
and ends with the same session cookie, so both interfaces share one session.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from services.ticket_store import auth
from services.ticket_store.api import auth_routes, views
from services.ticket_store.api.deps import SESSION_COOKIE, SessionDep
from services.ticket_store.models import Staff
from services.ticket_store.web.common import check_csrf, current_who, render_page

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "supportdesk_login_csrf"


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
    if current_who(request, session) is not None:
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
        who = current_who(request, s)
        if who is not None:
            check_csrf(who, csrf_token)
            auth.revoke(s, who.principal.token_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
