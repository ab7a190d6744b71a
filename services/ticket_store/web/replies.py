"""The pre-defined replies page: every staff member sees theirs; administrators add, edit, delete.

The texts offered on a ticket come from here (see `staff_tickets`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.models import PredefinedReply, Staff
from services.ticket_store.unit_of_work import UnitOfWork
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
    editing: int | None = None,
) -> Response:
    """The list; for an administrator also the add form, or the edit form of reply `editing`."""
    assert who.staff is not None
    dep_names, staff_names = queries.names(session)
    admin = who.staff.is_admin
    changed = request.query_params.get("done") == "reply-changed"
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
            "editing": editing,
            "error": error,
            **({"notice": "The pre-defined reply was changed."} if changed else {}),
        },
        status,
    )


@router.get("/replies")
def replies(request: Request, session: SessionDep) -> Response:
    who, _staff = need_staff(request, session)
    return _replies_page(request, session, who)


def _require_admin(who: Who) -> Staff:
    """Only administrators add, edit or delete replies, as in the JSON admin API."""
    if who.staff is None or not who.staff.is_admin:
        raise Refused(403, "Only administrators add, change or delete pre-defined replies.")
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
        actions.predefined_replies.add_predefined_reply(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{admin.id}"),
            title.strip(),
            message_text(text),
            scope=scope,
            department_id=form_number(department_id),
            staff_id=form_number(staff_id),
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
        actions.predefined_replies.delete_predefined_reply(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{admin.id}"),
            min(reply_id, MAX_ID),
        )
        return "/replies?done=reply-deleted"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _replies_page(request, s, who, error=message, status=status)

    return act(request, "staff", csrf_token, work, show)


def _reply_form(reply: PredefinedReply) -> dict[str, str]:
    return {
        "title": reply.title,
        "text": reply.text,
        "scope": reply.scope,
        "department_id": str(reply.department_id or ""),
        "staff_id": str(reply.staff_id or ""),
    }


@router.get("/replies/{reply_id:int}/edit")
def edit_reply_form(request: Request, session: SessionDep, reply_id: int) -> Response:
    """The edit form of one reply (administrators only), filled with its current values."""
    who, _staff = need_staff(request, session)
    _require_admin(who)
    reply = session.get(PredefinedReply, reply_id) if reply_id <= MAX_ID else None
    if reply is None:
        raise Refused(404, f"pre-defined reply {reply_id} does not exist")
    return _replies_page(request, session, who, form=_reply_form(reply), editing=reply.id)


@router.post("/replies/{reply_id:int}/edit")
def edit_reply(
    request: Request,
    reply_id: int,
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "all",
    department_id: Annotated[str, Form()] = "",
    staff_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change a reply: the JSON API's PATCH /admin/predefined-replies/{id}, all fields at once."""
    form = {
        "title": title,
        "text": text,
        "scope": scope,
        "department_id": department_id,
        "staff_id": staff_id,
    }
    target = min(reply_id, MAX_ID)

    def work(s: Session, who: Who) -> str:
        admin = _require_admin(who)
        if not title.strip() or len(title) > 200:
            raise ValueError("The title has 1 to 200 characters.")
        if scope not in ("all", "department", "staff"):
            raise ValueError("Choose who the reply is available to.")
        # The API's body model checks the fields; the service checks the scope's target.
        changes = views.ReplyPatch(
            title=title.strip(),
            text=message_text(text),
            scope=scope,  # type: ignore[arg-type]
            department_id=form_number(department_id),
            staff_id=form_number(staff_id),
        )
        actions.predefined_replies.update_predefined_reply(
            UnitOfWork(s, request.app.state.settings.topics, f"staff:{admin.id}"),
            target,
            **changes.model_dump(exclude_unset=True),
        )
        return "/replies?done=reply-changed"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _replies_page(
            request, s, who, error=message, status=status, form=form, editing=target
        )

    return act(request, "staff", csrf_token, work, show)
