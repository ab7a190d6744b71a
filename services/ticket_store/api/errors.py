"""The API's answer to a refusal: a JSON {"detail": …} with its status, never a stack trace.

Written once for every endpoint: not found 404, forbidden 403, conflict 409, no
incidents left 402, too many logins 429, a body over its limit 413, bad input 422 (a
status change the rules do not allow is bad input here), a clash in the database 409.
A 422 of the request's shape lists the fields (where, what rule, which kind of error)
and never what was sent: no input, no context, no links. `RESPONSES` documents each
body in the OpenAPI document.
"""

from __future__ import annotations

import logging
import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from services.ticket_store.domain.errors import Conflict, Forbidden, InsufficientIncidents, NotFound
from services.ticket_store.http.login import LoginRefused

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """Every refusal but a 422 of the request's shape."""

    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    """422: the fields that break a rule, or a sentence when the rule is the core's."""

    detail: list[FieldProblem] | str


def _documented(model: type[BaseModel], description: str) -> dict[str, object]:
    return {"model": model, "description": description}


RESPONSES: dict[int | str, dict[str, object]] = {
    400: _documented(Problem, "The body could not be read"),
    401: _documented(Problem, "Not logged in, or the session or token is gone"),
    402: _documented(Problem, "The client has no support incidents left"),
    403: _documented(Problem, "Not allowed (role, department, or CSRF token)"),
    404: _documented(Problem, "No such object (or not yours to see)"),
    409: _documented(Problem, "Conflicts with the current state or existing data"),
    413: _documented(Problem, "The request body is over its limit"),
    422: _documented(Invalid, "The request breaks a rule"),
    429: _documented(Problem, "Too many failed logins; see Retry-After"),
}


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
    if isinstance(exc, UnicodeError):  # a codec's message names internals and the input
        return 422, "the text is not valid Unicode"
    if isinstance(exc, ValueError) and not isinstance(exc, OverflowError):
        return 422, str(exc)
    return 422, "a value is out of range"  # DataError, OverflowError


def refusal(request: Request, exc: Exception) -> JSONResponse:
    status, detail = _status_and_detail(request, exc)
    headers = {}
    if isinstance(exc, LoginRefused) and exc.retry_after:
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _where(part: object) -> str | int:
    """A place in the request: an index, a field's name; an unknown field whose name is no
    plain identifier is not repeated (it is input too)."""
    if isinstance(part, int):
        return part
    return part if isinstance(part, str) and _NAME.fullmatch(part) else "(a field)"


def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 listing the fields that break a rule, without the value sent."""
    problems = [
        FieldProblem(
            loc=[_where(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", ""))[:500],
            type=str(e.get("type", "")),
        ).model_dump()
        for e in exc.errors()[:50]
    ]
    return JSONResponse({"detail": problems}, status_code=422)
