"""The API's answer to a refusal: a JSON {"detail": …} with its status, never a stack trace.

Written once for every endpoint: not found 404, forbidden 403, conflict 409, no
incidents left 402, too many logins 429, bad input 422 (a status change the rules
do not allow is bad input here), a clash in the database 409.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from services.ticket_store.domain.errors import Conflict, Forbidden, InsufficientIncidents, NotFound
from services.ticket_store.http.login import LoginRefused

log = logging.getLogger(__name__)


def _status_and_detail(request: Request, exc: Exception) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, f"{exc} does not exist"
    if isinstance(exc, Forbidden):
        return 403, str(exc)
    if isinstance(exc, InsufficientIncidents):
        return 402, f"insufficient support incidents: {exc}"
    if isinstance(exc, Conflict):
        return 409, str(exc)
    if isinstance(exc, LoginRefused):
        return exc.status, exc.message
    if isinstance(exc, IntegrityError):
        log.info("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        return 409, "this conflicts with existing data (a duplicate?)"
    if isinstance(exc, ValueError) and not isinstance(exc, OverflowError):
        return 422, str(exc)
    return 422, "a value is out of range"  # DataError, OverflowError


def refusal(request: Request, exc: Exception) -> JSONResponse:
    status, detail = _status_and_detail(request, exc)
    headers = {}
    if isinstance(exc, LoginRefused) and exc.retry_after:
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)
