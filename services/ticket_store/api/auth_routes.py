"""Logging in and out: a cookie session for the browser, bearer tokens for scripts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from services.ticket_store import auth
from services.ticket_store.api import views
from services.ticket_store.api.deps import (
    SESSION_COOKIE,
    PrincipalDep,
    SessionDep,
    require_principal,
)
from services.ticket_store.models import Client, Staff

router = APIRouter(prefix="/auth", tags=["auth"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def check_login(request: Request, body: views.LoginIn) -> Staff | Client:
    """Check the password in its own transactions, so failures are counted even on a 401."""
    db = request.app.state.db
    limit: auth.LoginLimit = request.app.state.login_limit
    identity = f"{body.role}:{body.email.strip().lower()}"
    ip = _client_ip(request)
    with db.transaction() as s:
        if auth.login_blocked(s, identity, ip, limit):
            raise HTTPException(
                429,
                "too many failed logins; try again later",
                headers={"Retry-After": str(int(limit.window.total_seconds()))},
            )
        if body.role == "staff":
            who: Staff | Client | None = auth.authenticate_staff(s, body.email, body.password)
        else:
            who = auth.authenticate_client(s, body.email, body.password)
        if who is None:
            auth.record_failure(s, identity, ip)
        else:
            auth.clear_failures(s, identity, limit)
    if who is None:
        raise HTTPException(401, "wrong email or password")
    return who


def _me(session: SessionDep, principal: auth.Principal) -> views.Me:
    if principal.kind == "staff":
        staff = session.get(Staff, principal.id)
        assert staff is not None
        return views.Me(
            role="staff",
            id=staff.id,
            name=staff.name,
            email=staff.email,
            is_admin=staff.is_admin,
            department_ids=sorted(d.id for d in staff.departments),
            via=principal.via,
            csrf_token=principal.csrf_token,
        )
    client = session.get(Client, principal.id)
    assert client is not None
    return views.Me(
        role="client",
        id=client.id,
        name=client.name,
        email=min(client.emails, key=lambda e: e.id).email if client.emails else "",
        via=principal.via,
        csrf_token=principal.csrf_token,
    )


@router.post("/login", response_model=views.Me, summary="Log in (browser session cookie)")
def login(body: views.LoginIn, request: Request, response: Response, session: SessionDep):
    """Sets an HttpOnly session cookie; send the returned csrf_token as X-CSRF-Token."""
    who = check_login(request, body)
    kwargs = {"staff": who} if isinstance(who, Staff) else {"client": who}
    secret, row = auth.issue(session, kind="session", **kwargs)  # type: ignore[arg-type]
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        httponly=True,
        secure=request.app.state.secure_cookies,
        samesite="strict",
        path="/",
    )
    principal = auth.Principal(body.role, who.id, "session", row.id, row.csrf_token)
    return _me(session, principal)


@router.post("/tokens", response_model=views.TokenOut, summary="Get a bearer token (scripts)")
def create_token(body: views.TokenIn, request: Request, session: SessionDep):
    who = check_login(request, body)
    kwargs = {"staff": who} if isinstance(who, Staff) else {"client": who}
    secret, row = auth.issue(session, kind="bearer", name=body.name, **kwargs)  # type: ignore[arg-type]
    return views.TokenOut(token=secret, expires_at=row.expires_at)


@router.post("/logout", status_code=204, summary="End this session or revoke this token")
def logout(principal: PrincipalDep, session: SessionDep) -> Response:
    who = require_principal(principal)
    auth.revoke(session, who.token_id)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    return out


@router.get("/me", response_model=views.Me, summary="Who am I")
def me(principal: PrincipalDep, session: SessionDep):
    return _me(session, require_principal(principal))


__all__ = ["router"]
