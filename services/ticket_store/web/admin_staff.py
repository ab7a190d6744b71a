"""Staff members: list, add, edit (as `/api/v1/admin/staff`).

The seed: a staff member handles only the tickets of the departments they are
assigned to, so departments are check boxes here. A password is typed, never
shown back; on edit an empty password keeps the current one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.models import Staff
from services.ticket_store.queries.staff import staff_department_ids
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.admin_common import (
    actor,
    admin_of,
    checked,
    ids,
    need_admin,
    notice,
    validated,
)
from services.ticket_store.web.common import MAX_ID, Refused, Who, act, render_page

router = APIRouter(include_in_schema=False)


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id) if staff_id <= MAX_ID else None
    if staff is None:
        raise Refused(404, f"staff member {staff_id} does not exist")
    return staff


def _shown(form: dict[str, object]) -> dict[str, object]:
    """What a form shows again after a refusal: everything but the password."""
    return {k: v for k, v in form.items() if k != "password"}


def _list_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    admin_of(who)
    return render_page(
        request,
        "admin_staff.html",
        who,
        {
            "staff": queries.all_staff(session),
            "departments": queries.all_departments(session),
            "form": _shown(form or {"active": True}),
            "error": error,
            "notice": notice(request),
        },
        status,
    )


@router.get("/admin/staff")
def staff_list(request: Request, session: SessionDep) -> Response:
    who, _admin = need_admin(request, session)
    return _list_page(request, session, who)


@router.post("/admin/staff")
def add_staff(
    request: Request,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    department_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    is_admin: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The API's StaffIn rules; a new member left inactive is deactivated right after."""
    form: dict[str, object] = {
        "name": name.strip(),
        "email": email.strip(),
        "password": password,
        "department_ids": department_ids,
        "is_admin": checked(is_admin),
        "active": checked(active),
    }

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        body = validated(
            views.StaffIn,
            name=form["name"],
            email=form["email"],
            password=password,
            is_admin=form["is_admin"],
            department_ids=ids(department_ids),
        )
        uow = UnitOfWork(s, request.app.state.settings.topics, actor(admin))
        staff = actions.staff.add_staff(
            uow,
            body.name,
            body.email,
            body.password,
            is_admin=body.is_admin,
            department_ids=body.department_ids,
        )
        if not form["active"]:
            actions.staff.update_staff(uow, staff.id, active=False)
        return f"/admin/staff/{staff.id}?done=staff-added"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _list_page(request, s, who, error=message, status=status, form=form)

    return act(request, "staff", csrf_token, work, show)


def _edit_page(
    request: Request,
    session: Session,
    who: Who,
    staff_id: int,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    admin_of(who)
    staff = _staff(session, staff_id)
    shown = form or {
        "name": staff.name,
        "email": staff.email,
        "department_ids": [str(i) for i in sorted(staff_department_ids(staff))],
        "is_admin": staff.is_admin,
        "active": staff.active,
    }
    return render_page(
        request,
        "admin_staff_member.html",
        who,
        {
            "member": staff,
            "departments": queries.all_departments(session),
            "form": _shown(shown),
            "error": error,
            "notice": notice(request),
        },
        status,
    )


@router.get("/admin/staff/{staff_id:int}")
def staff_member(request: Request, session: SessionDep, staff_id: int) -> Response:
    who, _admin = need_admin(request, session)
    return _edit_page(request, session, who, staff_id)


@router.post("/admin/staff/{staff_id:int}")
def edit_staff(
    request: Request,
    staff_id: int,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    department_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    is_admin: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Departments are replaced as ticked; a new password or deactivating ends their logins."""
    form: dict[str, object] = {
        "name": name.strip(),
        "email": email.strip(),
        "department_ids": department_ids,
        "is_admin": checked(is_admin),
        "active": checked(active),
    }

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        staff = _staff(s, staff_id)
        fields = {**form, "department_ids": ids(department_ids)}
        if password:
            fields["password"] = password
        body = validated(views.StaffPatch, **fields)
        changes = body.model_dump(exclude_unset=True)
        if staff.id == admin.id and (
            changes.get("active") is False or changes.get("is_admin") is False
        ):
            raise ValueError("you cannot deactivate yourself or drop your own admin rights")
        actions.staff.update_staff(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)), staff.id, **changes
        )
        return f"/admin/staff/{staff.id}?done=staff-saved"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _edit_page(request, s, who, staff_id, error=message, status=status, form=form)

    return act(request, "staff", csrf_token, work, show)
