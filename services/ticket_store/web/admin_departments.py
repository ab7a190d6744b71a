"""Administration start page and departments: list, add, edit (as `/api/v1/admin/departments`).

The seed: "To add a department to the Support center, select the Show in the
Support center check box on the department edit form." Per-incident (paid)
support and its notice are set per department too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.http.deps import SessionDep
from services.ticket_store.models import Department, Staff
from services.ticket_store.queries.directory import MAX_ID, all_departments
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import DepartmentForm
from services.ticket_store.web.common import Who, act, need, render_page
from services.ticket_store.web.forms import Posted, posted

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_home(request: Request, session: SessionDep) -> Response:
    """The Administration entry of the navigation: links to its sections."""
    return render_page(request, "admin_index.html", need(request, session, "admin"))


def _department(session: Session, department_id: int) -> Department:
    dep = session.get(Department, department_id) if department_id <= MAX_ID else None
    if dep is None:
        raise NotFound(f"department {department_id}")
    return dep


def _list_page(
    request: Request, session: Session, who: Who, *, form: dict | None = None, **shown: Any
) -> Response:
    context = {"departments": all_departments(session), "form": form or {}}
    return render_page(request, "admin_departments.html", who, context, **shown)


def _edit_page(
    request: Request,
    session: Session,
    who: Who,
    department_id: int,
    *,
    form: dict | None = None,
    **shown: Any,
) -> Response:
    dep = _department(session, department_id)
    form = form or DepartmentForm.model_validate(dep, from_attributes=True).model_dump()
    return render_page(request, "admin_department.html", who, {"dep": dep, "form": form}, **shown)


@router.get("/admin/departments")
def departments(request: Request, session: SessionDep) -> Response:
    return _list_page(request, session, need(request, session, "admin"))


@router.get("/admin/departments/{department_id:int}")
def department(request: Request, session: SessionDep, department_id: int) -> Response:
    return _edit_page(request, session, need(request, session, "admin"), department_id)


@router.post("/admin/departments")
def add_department(
    request: Request, form: Posted[DepartmentForm] = posted(DepartmentForm)
) -> Response:
    def work(uow: UnitOfWork, admin: Staff) -> str:
        dep = actions.departments.add_department(uow, **form.valid().fields())
        return f"/admin/departments/{dep.id}?done=department-added"

    return act(request, "admin", form, work, _list_page, form=form.shown())


@router.post("/admin/departments/{department_id:int}")
def edit_department(
    request: Request, department_id: int, form: Posted[DepartmentForm] = posted(DepartmentForm)
) -> Response:
    """The whole form is saved; an unticked box is a 'no' (browsers do not send it)."""

    def work(uow: UnitOfWork, admin: Staff) -> str:
        dep = _department(uow.session, department_id)
        actions.departments.update_department(uow, dep.id, **form.valid().fields())
        return f"/admin/departments/{dep.id}?done=department-saved"

    return act(
        request, "admin", form, work, _edit_page, department_id=department_id, form=form.shown()
    )
