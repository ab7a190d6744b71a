"""Request plumbing: one database transaction per request, and who is asking.

Sessions ride in an HttpOnly cookie and every unsafe request made with one
must echo the session's CSRF token in X-CSRF-Token; bearer tokens (scripts)
are not sent by browsers on their own, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from services.ticket_store import auth
from services.ticket_store.auth import Principal
from services.ticket_store.models import Client, Staff, Ticket

SESSION_COOKIE = "supportdesk_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def db_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the endpoint returns, rolled back on error."""
    with request.app.state.db.transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise HTTPException(401, "use Authorization: Bearer <token>")
        principal = auth.resolve(session, secret.strip(), "bearer")
        if principal is None:
            raise HTTPException(401, "the bearer token is unknown, expired or revoked")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = auth.resolve(session, cookie, "session")
    if principal is None:
        raise HTTPException(401, "the session has expired; log in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, principal.csrf_token):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return principal


PrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def require_principal(principal: PrincipalDep) -> Principal:
    if principal is None:
        raise HTTPException(401, "log in first")
    return principal


def current_staff(principal: PrincipalDep, session: SessionDep) -> Staff:
    if principal is None:
        raise HTTPException(401, "log in first")
    if principal.kind != "staff":
        raise HTTPException(403, "this is for staff only")
    staff = session.get(Staff, principal.id)
    if staff is None or not staff.active:
        raise HTTPException(401, "this staff account is not active")
    return staff


StaffDep = Annotated[Staff, Depends(current_staff)]


def current_admin(staff: StaffDep) -> Staff:
    if not staff.is_admin:
        raise HTTPException(403, "this is for administrators only")
    return staff


AdminDep = Annotated[Staff, Depends(current_admin)]


def current_client(principal: PrincipalDep, session: SessionDep) -> Client:
    if principal is None:
        raise HTTPException(401, "log in first")
    if principal.kind != "client":
        raise HTTPException(403, "this is for clients only")
    client = session.get(Client, principal.id)
    if client is None:
        raise HTTPException(401, "this client account no longer exists")
    return client


ClientDep = Annotated[Client, Depends(current_client)]


def staff_ticket(session: Session, staff: Staff, number: int) -> Ticket:
    """The ticket, if this staff member works in its department (the seed's rule)."""
    from services.ticket_store.queries.staff import can_handle

    ticket = session.get(Ticket, number)
    if ticket is None:
        raise HTTPException(404, f"ticket #{number} does not exist")
    if not can_handle(staff, ticket.department_id):
        raise HTTPException(403, f"ticket #{number} is in a department you do not work in")
    return ticket


def client_ticket(session: Session, client: Client, number: int) -> Ticket:
    """A client's own ticket; anyone else's is reported as not existing."""
    ticket = session.get(Ticket, number)
    if ticket is None or ticket.client_id != client.id:
        raise HTTPException(404, f"ticket #{number} does not exist")
    return ticket
