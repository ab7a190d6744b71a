"""The web's answer to a refusal: the status and a sentence for the page.

Written once: a form's action shows its page again with the sentence (`common.act`),
anything else shows the error page (`web.refusal`, which the app calls for every
refusal outside the API).
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from services.ticket_store.domain.errors import (
    Conflict,
    Forbidden,
    InsufficientIncidents,
    InvalidTransition,
    NotFound,
)
from services.ticket_store.http.login import LoginRefused

# What a form's action answers with its own page again; Forbidden and the rest end in
# the error page (the form's page may not be shown at all).
FORM_REFUSALS = (NotFound, InsufficientIncidents, ValueError, IntegrityError)


def explain(exc: Exception) -> tuple[int, str]:
    """A refusal as an HTTP status and a sentence for the page."""
    if isinstance(exc, NotFound):
        return 404, f"{exc} does not exist."
    if isinstance(exc, Forbidden):
        return 403, str(exc)
    if isinstance(exc, InsufficientIncidents):
        return 402, str(exc)
    if isinstance(exc, ValidationError):
        return 422, "Some of the fields are not valid."
    if isinstance(exc, Conflict | InvalidTransition):
        return 409, str(exc)
    if isinstance(exc, IntegrityError):
        return 409, "This conflicts with existing data (a duplicate?)."
    if isinstance(exc, LoginRefused):
        return exc.status, exc.message
    if isinstance(exc, ValueError):
        return 422, str(exc)
    return 422, "A value is out of range."
