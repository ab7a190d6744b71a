"""Logging in and out: a cookie session for the browser, bearer tokens for scripts.

The check itself (rate limit, then the password) and the cookie are `http.login`
and `http.sessions`, shared with the web's login page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from services.ticket_store import auth
from services.ticket_store.api import schemas
from services.ticket_store.api.deps import PrincipalDep, SessionDep, require_principal
from services.ticket_store.http import sessions
from services.ticket_store.http.login import check_login
from services.ticket_store.models import Staff
from services.ticket_store.queries.clients import client_primary_email

router = APIRouter(prefix="/auth", tags=["auth"])


def _me(session: Session, principal: auth.Principal) -> schemas.Me:
    who = sessions.person(session, principal)
    assert who is not None
    if isinstance(who, Staff):
        email, is_admin, deps = who.email, who.is_admin, sorted(d.id for d in who.departments)
    else:
        email, is_admin, deps = client_primary_email(who), False, []
    return schemas.Me(
        role=principal.kind,  # type: ignore[arg-type]
        id=who.id,
        name=who.name,
        email=email,
        is_admin=is_admin,
        department_ids=deps,
        via=principal.via,
        csrf_token=principal.csrf_token,
    )


@router.post("/login", response_model=schemas.Me, summary="Log in (browser session cookie)")
def login(body: schemas.LoginIn, request: Request, response: Response, session: SessionDep):
    """Sets an HttpOnly session cookie; send the returned csrf_token as X-CSRF-Token."""
    who = check_login(request, body.email, body.password, body.role)
    return _me(session, sessions.start_session(session, request, response, who))


@router.post("/tokens", response_model=schemas.TokenOut, summary="Get a bearer token (scripts)")
def create_token(body: schemas.TokenIn, request: Request, session: SessionDep):
    who = check_login(request, body.email, body.password, body.role)
    kwargs = {"staff": who} if isinstance(who, Staff) else {"client": who}
    secret, row = auth.issue(session, kind="bearer", name=body.name, **kwargs)  # type: ignore[arg-type]
    return schemas.TokenOut(token=secret, expires_at=row.expires_at)


@router.post("/logout", status_code=204, summary="End this session or revoke this token")
def logout(principal: PrincipalDep, session: SessionDep) -> Response:
    out = Response(status_code=204)
    sessions.end_session(session, require_principal(principal), out)
    return out


@router.get("/me", response_model=schemas.Me, summary="Who am I")
def me(principal: PrincipalDep, session: SessionDep):
    return _me(session, require_principal(principal))
