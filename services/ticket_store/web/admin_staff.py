"""Staff members: list, add, edit (as `/api/v1/admin/staff`).

The seed: a staff member handles only the tickets of the departments they are
assigned to, so departments are check boxes here. A password is typed, never
shown back; on edit an empty password keeps the current one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import access, actions
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import Staff
from services.ticket_store.queries.directory import MAX_ID, all_departments, all_staff
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import NewStaffForm, StaffForm
from services.ticket_store.web.common import Who, act, need, render_page
from services.ticket_store.web.forms import Posted, posted

router = APIRouter(include_in_schema=False)


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id) if staff_id <= MAX_ID else None
    if staff is None:
        raise NotFound(f"staff member {staff_id}")
    return staff


def _list_page(
    request: Request, session: Session, who: Who, *, form: dict | None = None, **shown: Any
) -> Response:
    context = {
        "staff": all_staff(session, by_name=True),
        "departments": all_departments(session),
        "form": form or {"active": True},
    }
    return render_page(request, "admin_staff.html", who, context, **shown)


def _edit_page(
    request: Request,
    session: Session,
    who: Who,
    staff_id: int,
    *,
    form: dict | None = None,
    **shown: Any,
) -> Response:
    staff = _staff(session, staff_id)
    form = form or {
        "name": staff.name,
        "email": staff.email,
        "department_ids": [str(d.id) for d in sorted(staff.departments, key=lambda d: d.id)],
        "is_admin": staff.is_admin,
        "active": staff.active,
    }
    context = {"member": staff, "departments": all_departments(session), "form": form}
    return render_page(request, "admin_staff_member.html", who, context, **shown)


@router.get("/admin/staff")
def staff_list(request: Request, session: SessionDep) -> Response:
    return _list_page(request, session, need(request, session, "admin"))


@router.get("/admin/staff/{staff_id:int}")
def staff_member(request: Request, session: SessionDep, staff_id: int) -> Response:
    return _edit_page(request, session, need(request, session, "admin"), staff_id)


@router.post("/admin/staff")
def add_staff(request: Request, form: Posted[NewStaffForm] = posted(NewStaffForm)) -> Response:
    """The API's rules for a new member; one left inactive is deactivated right after."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        body = form.valid()
        staff = actions.staff.add_staff(
            uow,
            body.name,
            body.email,
            body.password,
            is_admin=body.is_admin,
            department_ids=body.department_id_list(),
        )
        if not body.active:
            actions.staff.update_staff(uow, staff.id, active=False)
        return f"/admin/staff/{staff.id}?done=staff-added"

    return act(request, "admin", form, work, _list_page, form=form.shown())


@router.post("/admin/staff/{staff_id:int}")
def edit_staff(
    request: Request, staff_id: int, form: Posted[StaffForm] = posted(StaffForm)
) -> Response:
    """Departments are replaced as ticked; a new password or deactivating ends their logins."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        staff = _staff(uow.session, staff_id)
        body = form.valid()
        access.check_staff_change(admin, staff.id, active=body.active, is_admin=body.is_admin)
        changes = body.fields() | {"department_ids": body.department_id_list()}
        if body.password is None:
            del changes["password"]
        actions.staff.update_staff(uow, staff.id, **changes)
        return f"/admin/staff/{staff.id}?done=staff-saved"

    return act(request, "admin", form, work, _edit_page, staff_id=staff_id, form=form.shown())
