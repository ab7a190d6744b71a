"""The session cookie and the CSRF check, for both adapters: one cookie, one comparison.

The browser's session rides in an HttpOnly cookie (set by the API's login and the
login page alike, so both interfaces share it). Every unsafe request made with it
must echo the session's CSRF token: the API reads it from the X-CSRF-Token header,
a web form from a hidden field; `csrf_ok` compares either.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Response
from sqlalchemy.orm import Session

from services.ticket_store import auth
from services.ticket_store.auth import Principal
from services.ticket_store.models import Client, Staff

SESSION_COOKIE = "supportdesk_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_principal(request: Request, session: Session) -> Principal | None:
    """The live session behind the request's cookie, or None (none, expired, revoked)."""
    return auth.resolve(session, request.cookies.get(SESSION_COOKIE, ""), "session")


def csrf_ok(principal: Principal, sent: str) -> bool:
    """Whether `sent` is the session's CSRF token (constant-time; a bearer token has none)."""
    expected = principal.csrf_token.encode()
    return bool(sent) and bool(expected) and hmac.compare_digest(sent.encode(), expected)


def person(session: Session, principal: Principal) -> Staff | Client | None:
    """The staff member (active only) or client behind a principal, or None."""
    if principal.kind == "staff":
        staff = session.get(Staff, principal.id)
        return staff if staff is not None and staff.active else None
    return session.get(Client, principal.id)


def actor(principal: Principal) -> str:
    """The audit log's name for the person: ``staff:3``, ``client:7``."""
    return f"{principal.kind}:{principal.id}"


def start_session(
    session: Session, request: Request, response: Response, who: Staff | Client
) -> Principal:
    """A new session for `who`, its cookie set on `response`."""
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
    kind = "staff" if isinstance(who, Staff) else "client"
    return Principal(kind, who.id, "session", row.id, row.csrf_token)


def end_session(session: Session, principal: Principal | None, response: Response) -> None:
    """Revoke the session (or bearer token) and drop the cookie."""
    if principal is not None:
        auth.revoke(session, principal.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")
