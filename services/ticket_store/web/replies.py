"""The pre-defined replies page: every staff member sees theirs; administrators add, edit,
delete (as the admin API does). A ticket's page offers them, filled in (`staff_tickets`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import access, actions
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import PredefinedReply, Staff
from services.ticket_store.queries.directory import (
    active_staff,
    all_departments,
    names,
    visible_replies,
)
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.common import Who, act, need, render_page
from services.ticket_store.web.forms import Posted, PredefinedReplyForm, WebForm, posted

router = APIRouter(include_in_schema=False)


def _replies_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
    editing: int | None = None,
) -> Response:
    """The list; for an administrator also the add form, or the edit form of reply `editing`."""
    dep_names, staff_names = names(session)
    admin = who.person.is_admin
    return render_page(
        request,
        "replies.html",
        who,
        {
            "replies": visible_replies(session, who.person),
            "dep_names": dep_names,
            "staff_names": staff_names,
            "can_manage": admin,
            "all_departments": all_departments(session) if admin else [],
            "all_staff": active_staff(session) if admin else [],
            "form": form or {},
            "editing": editing,
        },
        error=error,
        status=status,
    )


@router.get("/replies")
def replies(request: Request, session: SessionDep) -> Response:
    return _replies_page(request, session, need(request, session, "staff"))


def _reply_form(reply: PredefinedReply) -> dict[str, object]:
    return {
        "title": reply.title,
        "text": reply.text,
        "scope": reply.scope,
        "department_id": str(reply.department_id or ""),
        "staff_id": str(reply.staff_id or ""),
    }


@router.post("/replies")
def add_reply(
    request: Request, form: Posted[PredefinedReplyForm] = posted(PredefinedReplyForm)
) -> Response:
    def work(uow: UnitOfWork, admin: Staff) -> str:
        body = form.valid()
        actions.predefined_replies.add_predefined_reply(
            uow,
            body.title,
            body.text,
            scope=body.scope,
            department_id=body.department_id,
            staff_id=body.staff_id,
        )
        return "/replies?done=reply-added"

    return act(request, "admin", form, work, _replies_page, form=form.shown())


@router.get("/replies/{reply_id:int}/edit")
def edit_reply_form(request: Request, session: SessionDep, reply_id: int) -> Response:
    """The edit form of one reply (administrators only), filled with its current values."""
    who = need(request, session, "staff")
    reply = access.managed_reply(session, who.person, reply_id)
    return _replies_page(request, session, who, form=_reply_form(reply), editing=reply.id)


@router.post("/replies/{reply_id:int}/edit")
def edit_reply(
    request: Request,
    reply_id: int,
    form: Posted[PredefinedReplyForm] = posted(PredefinedReplyForm),
) -> Response:
    """Change a reply: the admin API's PATCH /admin/predefined-replies/{id}, all fields at once."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        reply = access.managed_reply(uow.session, admin, reply_id)
        body = form.valid()
        if body.scope not in ("all", "department", "staff"):
            raise ValueError("Choose who the reply is available to.")
        actions.predefined_replies.update_predefined_reply(
            uow, reply.id, **body.model_dump(exclude={"csrf_token"})
        )
        return "/replies?done=reply-changed"

    editing = min(reply_id, 2**31 - 1)
    return act(request, "admin", form, work, _replies_page, form=form.shown(), editing=editing)


@router.post("/replies/{reply_id:int}/delete")
def delete_reply(
    request: Request, reply_id: int, form: Posted[WebForm] = posted(WebForm)
) -> Response:
    def work(uow: UnitOfWork, admin: Staff) -> str:
        reply = access.managed_reply(uow.session, admin, reply_id)
        actions.predefined_replies.delete_predefined_reply(uow, reply.id)
        return "/replies?done=reply-deleted"

    return act(request, "admin", form, work, _replies_page)
