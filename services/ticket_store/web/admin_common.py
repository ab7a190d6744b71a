"""What the administrator pages share: the admin check, form helpers and their notices.

The pages mirror the JSON admin API (`api/admin.py`): the same service functions,
the same pydantic models for validation, the same refusals. Only staff with
`is_admin` get past `need_admin` / `admin_of`; everyone else sees the 403 page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from services.ticket_store.models import Staff
from services.ticket_store.web.common import Refused, Who, form_number, need_staff

M = TypeVar("M", bound=BaseModel)

ADMIN_ONLY = "This page is for administrators only."

# Fixed texts for ?done=… on the admin pages (common.NOTICES covers the other pages).
ADMIN_NOTICES = {
    "department-added": "The department was added.",
    "department-saved": "The department was saved.",
    "staff-added": "The staff member was added.",
    "staff-saved": "The staff member was saved.",
    "gateway-added": "The mail gateway was added.",
    "gateway-saved": "The mail gateway was saved.",
    "gateway-deleted": "The mail gateway was deleted.",
    "client-added": "The client was added.",
    "client-saved": "The client was saved.",
    "email-added": "The email address was added.",
    "email-removed": "The email address was removed.",
    "incidents": "The support incidents were changed.",
}


def admin_of(who: Who) -> Staff:
    """The administrator behind `who`; anyone else gets the same 403 as the API."""
    if who.staff is None or not who.staff.is_admin:
        raise Refused(403, ADMIN_ONLY)
    return who.staff


def need_admin(request: Request, session: Session) -> tuple[Who, Staff]:
    """For admin pages: login redirect, 403 for clients and non-admin staff."""
    who, _staff = need_staff(request, session)
    return who, admin_of(who)


def actor(admin: Staff) -> str:
    """The audit log's name for the administrator, as the API writes it."""
    return f"staff:{admin.id}"


def notice(request: Request) -> str:
    """The fixed text for ?done=…, so a link cannot put its own words on the page."""
    return ADMIN_NOTICES.get(request.query_params.get("done", ""), "")


def checked(value: str) -> bool:
    """A check box: browsers send its value when ticked and nothing when not."""
    return value.strip().lower() in {"1", "on", "yes", "true"}


def ids(values: Iterable[str]) -> list[int]:
    """Ticked ids (e.g. departments); anything that is not an id is refused."""
    out = []
    for value in values:
        number = form_number(value)
        if number is None:
            raise ValueError(f"{value!r} is not a valid choice.")
        out.append(number)
    return out


def lines(value: str) -> list[str]:
    """Addresses typed one per line (or separated by commas or spaces)."""
    return [part for part in value.replace(",", " ").split() if part]


def validated(model: type[M], **fields: object) -> M:
    """The API's own request model, so the pages accept exactly what the API accepts.

    A refusal names the fields and the rule but never repeats what was typed
    (a gateway password must not come back in a page).
    """
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"Some of the fields are not valid — {problems}.") from None
