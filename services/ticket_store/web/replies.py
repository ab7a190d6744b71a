"""The pre-defined replies page: every staff member sees theirs; administrators add and delete.

The texts offered on a ticket come from here (see `staff_tickets`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import service
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.models import Staff
from services.ticket_store.web import queries
from services.ticket_store.web.common import (
    MAX_ID,
    Refused,
    Who,
    act,
    form_number,
    message_text,
    need_staff,
    render_page,
)

router = APIRouter(include_in_schema=False)


def _replies_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    assert who.staff is not None
    dep_names, staff_names = queries.names(session)
    admin = who.staff.is_admin
    return render_page(
        request,
        "replies.html",
        who,
        {
            "replies": queries.visible_replies(session, who.staff),
            "dep_names": dep_names,
            "staff_names": staff_names,
            "can_manage": admin,
            "all_departments": queries.all_departments(session) if admin else [],
            "all_staff": queries.active_staff(session) if admin else [],
            "form": form or {},
            "error": error,
        },
        status,
    )


@router.get("/replies")
def replies(request: Request, session: SessionDep) -> Response:
    who, _staff = need_staff(request, session)
    return _replies_page(request, session, who)


def _require_admin(who: Who) -> Staff:
    """Only administrators add or delete replies, as in the JSON API (/admin/predefined-replies)."""
    if who.staff is None or not who.staff.is_admin:
        raise Refused(403, "Only administrators add or delete pre-defined replies.")
    return who.staff


@router.post("/replies")
def add_reply(
    request: Request,
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "all",
    department_id: Annotated[str, Form()] = "",
    staff_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "title": title,
        "text": text,
        "scope": scope,
        "department_id": department_id,
        "staff_id": staff_id,
    }

    def work(s: Session, who: Who) -> str:
        admin = _require_admin(who)
        if not title.strip() or len(title) > 200:
            raise ValueError("The title has 1 to 200 characters.")
        service.add_predefined_reply(
            s,
            title.strip(),
            message_text(text),
            scope=scope,
            department_id=form_number(department_id),
            staff_id=form_number(staff_id),
            actor=f"staff:{admin.id}",
        )
        return "/replies?done=reply-added"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _replies_page(request, s, who, error=message, status=status, form=form)

    return act(request, "staff", csrf_token, work, show)


@router.post("/replies/{reply_id:int}/delete")
def delete_reply(
    request: Request, reply_id: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    def work(s: Session, who: Who) -> str:
        admin = _require_admin(who)
        service.delete_predefined_reply(s, min(reply_id, MAX_ID), actor=f"staff:{admin.id}")
        return "/replies?done=reply-deleted"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _replies_page(request, s, who, error=message, status=status)

    return act(request, "staff", csrf_token, work, show)
