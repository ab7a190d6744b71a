"""Pre-defined replies: who may use one (its scope) and its placeholders.

A reply is available to every staff member ("all"), to one department's staff
("department") or to one person ("staff").
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from services.ticket_store.models import Department, PredefinedReply, Staff

REPLY_SCOPES = ("all", "department", "staff")
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


def check_reply_scope(
    session: Session, scope: str, department_id: int | None, staff_id: int | None
) -> None:
    """One of REPLY_SCOPES, naming an existing department or person when it needs one."""
    if scope not in REPLY_SCOPES:
        raise ValueError(f"scope must be one of {REPLY_SCOPES}")
    if scope == "department" and (
        department_id is None or session.get(Department, department_id) is None
    ):
        raise ValueError("a department-wide reply needs an existing department_id")
    if scope == "staff" and (staff_id is None or session.get(Staff, staff_id) is None):
        raise ValueError("a personal reply needs an existing staff_id")


def pickable_by(staff_id: int, department_ids: Collection[int]) -> ColumnElement[bool]:
    """The SQL condition "replies this staff member may pick": everyone's, those of
    `department_ids` (the person's departments), and the person's own."""
    return or_(
        PredefinedReply.scope == "all",
        and_(
            PredefinedReply.scope == "department",
            PredefinedReply.department_id.in_(list(department_ids)),
        ),
        and_(PredefinedReply.scope == "staff", PredefinedReply.staff_id == staff_id),
    )


def placeholders(
    *,
    client_name: str,
    client_email: str,
    ticket_number: int,
    ticket_subject: str,
    staff_name: str,
    department: str,
) -> dict[str, str]:
    """The words a reply may use in braces, with this ticket's values."""
    return {
        "client_name": client_name,
        "client_email": client_email,
        "ticket_number": str(ticket_number),
        "ticket_subject": ticket_subject,
        "staff_name": staff_name,
        "department": department,
    }


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """{client_name}, {ticket_number} … are filled; unknown {words} stay as written."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
