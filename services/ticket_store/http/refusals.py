"""The refusals an HTTP request may end in, for the app to hand to the right adapter.

Each adapter maps them once: `api.errors.refusal` to a JSON {"detail": …},
`web.errors.refusal` to the error page.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError

from services.ticket_store.domain.errors import (
    Conflict,
    Forbidden,
    InsufficientIncidents,
    InvalidTransition,
    NotFound,
)
from services.ticket_store.http.login import LoginRefused

REFUSALS: tuple[type[Exception], ...] = (
    NotFound,
    Forbidden,
    InsufficientIncidents,
    Conflict,
    InvalidTransition,
    ValueError,
    IntegrityError,
    DataError,
    OverflowError,
    LoginRefused,
)
