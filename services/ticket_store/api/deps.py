"""Who is asking the API, and the request's unit of work (`http.deps`).

Browsers send the session cookie and must echo its CSRF token in X-CSRF-Token on
every unsafe request (`http.sessions`); scripts send a bearer token, which
browsers never send on their own, so it needs no CSRF token. Once the caller is
known, the unit of work acts as them (`staff:3`, `client:7` in the audit log).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from services.ticket_store import access, auth
from services.ticket_store.auth import Principal
from services.ticket_store.http import sessions
from services.ticket_store.http.deps import SessionDep, UowDep
from services.ticket_store.models import Client, Staff

__all__ = ["AdminDep", "ClientDep", "PrincipalDep", "SessionDep", "StaffDep", "UowDep"]


def optional_principal(request: Request, uow: UowDep) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise HTTPException(401, "use Authorization: Bearer <token>")
        principal = auth.resolve(uow.session, secret.strip(), "bearer")
        if principal is None:
            raise HTTPException(401, "the bearer token is unknown, expired or revoked")
    elif not request.cookies.get(sessions.SESSION_COOKIE):
        return None
    else:
        principal = sessions.cookie_principal(request, uow.session)
        if principal is None:
            raise HTTPException(401, "the session has expired; log in again")
        sent = request.headers.get(sessions.CSRF_HEADER, "")
        if request.method not in sessions.SAFE_METHODS and not sessions.csrf_ok(principal, sent):
            raise HTTPException(403, f"missing or wrong {sessions.CSRF_HEADER} header")
    uow.actor = sessions.actor(principal)
    return principal


PrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def require_principal(principal: PrincipalDep) -> Principal:
    if principal is None:
        raise HTTPException(401, "log in first")
    return principal


GONE = {
    "staff": "this staff account is not active",
    "client": "this client account no longer exists",
}


def _person(principal: PrincipalDep, uow: UowDep, kind: str) -> Staff | Client:
    who = require_principal(principal)
    if who.kind != kind:
        raise HTTPException(403, f"this is for {'staff' if kind == 'staff' else 'clients'} only")
    found = sessions.person(uow.session, who)
    if found is None:
        raise HTTPException(401, GONE[kind])
    return found


def current_staff(principal: PrincipalDep, uow: UowDep) -> Staff:
    return _person(principal, uow, "staff")  # type: ignore[return-value]


def current_client(principal: PrincipalDep, uow: UowDep) -> Client:
    return _person(principal, uow, "client")  # type: ignore[return-value]


StaffDep = Annotated[Staff, Depends(current_staff)]
ClientDep = Annotated[Client, Depends(current_client)]


def current_admin(staff: StaffDep) -> Staff:
    return access.require_admin(staff)


AdminDep = Annotated[Staff, Depends(current_admin)]
