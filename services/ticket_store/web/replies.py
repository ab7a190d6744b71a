"""The pre-defined replies page: every staff member sees theirs; administrators add, edit,
delete (as the admin API does). A ticket's page offers them, filled in (`staff_tickets`).
"""

from __future__ import annotations

from dataclasses import replace

from fastapi.responses import Response

from services.ticket_store import access, actions
from services.ticket_store.models import Staff
from services.ticket_store.queries.directory import (
    active_staff,
    all_departments,
    names,
    visible_replies,
)
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.common import Pages, View
from services.ticket_store.web.forms import PredefinedReplyForm, WebForm

pages = Pages("staff")


@pages.page("/replies")
def replies_page(view: View, reply_id: int | None = None) -> Response:
    """The list; for an administrator also the add form, or the edit form of reply `reply_id`."""
    session = view.session
    dep_names, staff_names = names(session)
    admin = view.person.is_admin
    return view.render(
        "replies.html",
        replies=visible_replies(session, view.person),
        dep_names=dep_names,
        staff_names=staff_names,
        can_manage=admin,
        all_departments=all_departments(session) if admin else [],
        all_staff=active_staff(session) if admin else [],
        form=view.form or {},
        editing=reply_id,
    )


@pages.page("/replies/{reply_id:int}/edit")
def edit_reply_page(view: View, reply_id: int) -> Response:
    """The edit form of one reply (administrators only), filled with its current values."""
    reply = access.managed_reply(view.session, view.person, reply_id)
    values = PredefinedReplyForm.model_validate(reply, from_attributes=True).fields()
    form = {k: "" if v is None else str(v) for k, v in values.items()}  # as a form posts them
    return replies_page(replace(view, form=form), reply_id=reply.id)


@pages.action("/replies", PredefinedReplyForm, replies_page, kind="admin")
def add_reply(uow: UnitOfWork, admin: Staff, form: PredefinedReplyForm) -> str:
    actions.predefined_replies.add_predefined_reply(uow, **form.fields())
    return "/replies?done=reply-added"


@pages.action("/replies/{reply_id:int}/edit", PredefinedReplyForm, replies_page, kind="admin")
def edit_reply(uow: UnitOfWork, admin: Staff, form: PredefinedReplyForm, reply_id: int) -> str:
    """Change a reply: the admin API's PATCH /admin/predefined-replies/{id}, all fields at once."""
    reply = access.managed_reply(uow.session, admin, reply_id)
    if form.scope not in ("all", "department", "staff"):
        raise ValueError("Choose who the reply is available to.")
    actions.predefined_replies.update_predefined_reply(uow, reply.id, **form.fields())
    return "/replies?done=reply-changed"


@pages.action("/replies/{doomed:int}/delete", WebForm, replies_page, kind="admin")
def delete_reply(uow: UnitOfWork, admin: Staff, form: WebForm, doomed: int) -> str:
    reply = access.managed_reply(uow.session, admin, doomed)
    actions.predefined_replies.delete_predefined_reply(uow, reply.id)
    return "/replies?done=reply-deleted"
