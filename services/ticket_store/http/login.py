"""The login check the API and the login page share: rate limit, then the password.

It runs in transactions of its own, so a failure is counted even though the
request then ends in a refusal (which rolls the request's own transaction back).
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request

from services.ticket_store import auth
from services.ticket_store.models import Client, Staff


class LoginRefused(Exception):
    """Wrong email or password (401), or too many failures (429, retry after `retry_after` s)."""

    def __init__(self, status: int, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def check_login(
    request: Request, email: str, password: str, role: Literal["staff", "client"]
) -> Staff | Client:
    """The person with this email and password, or LoginRefused."""
    if len(email) > 320 or len(password) > 1000:
        raise LoginRefused(401, "wrong email or password")
    db = request.app.state.db
    limit: auth.LoginLimit = request.app.state.login_limit
    identity = f"{role}:{email.strip().lower()}"
    ip = request.client.host if request.client else ""
    with db.transaction() as s:
        wait = auth.login_wait(s, identity, ip, limit)
        if wait:
            raise LoginRefused(429, "too many failed logins; try again later", wait)
        if role == "staff":
            who: Staff | Client | None = auth.authenticate_staff(s, email, password)
        else:
            who = auth.authenticate_client(s, email, password)
        if who is None:
            auth.record_failure(s, identity, ip)
        else:
            auth.clear_failures(s, identity, ip, limit)
    if who is None:
        raise LoginRefused(401, "wrong email or password")
    return who
