"""Administration start page and departments: list, add, edit (as `/api/v1/admin/departments`).

The seed: "To add a department to the Support center, select the Show in the
Support center check box on the department edit form." Per-incident (paid)
support and its notice are set per department too.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.models import Department, Staff
from services.ticket_store.queries.directory import all_departments
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import DepartmentForm, found
from services.ticket_store.web.common import Pages, Who, render_page

pages = Pages("admin")
router = pages.router


@pages.page("/admin")
def admin_home(request: Request, session: Session, who: Who) -> Response:
    """The Administration entry of the navigation: links to its sections."""
    return render_page(request, "admin_index.html", who)


@pages.page("/admin/departments")
def departments_page(
    request: Request, session: Session, who: Who, *, form: dict | None = None, **shown: Any
) -> Response:
    context = {"departments": all_departments(session), "form": form or {}}
    return render_page(request, "admin_departments.html", who, context, **shown)


@pages.page("/admin/departments/{department_id:int}")
def department_page(
    request: Request,
    session: Session,
    who: Who,
    *,
    department_id: int,
    form: dict | None = None,
    **shown: Any,
) -> Response:
    dep = found(session, Department, department_id, "department")
    form = form or DepartmentForm.model_validate(dep, from_attributes=True).fields()
    return render_page(request, "admin_department.html", who, {"dep": dep, "form": form}, **shown)


@pages.action("/admin/departments", DepartmentForm, departments_page)
def add_department(uow: UnitOfWork, admin: Staff, form: DepartmentForm) -> str:
    dep = actions.departments.add_department(uow, **form.fields())
    return f"/admin/departments/{dep.id}?done=department-added"


@pages.action("/admin/departments/{department_id:int}", DepartmentForm, department_page)
def edit_department(uow: UnitOfWork, admin: Staff, form: DepartmentForm, department_id: int) -> str:
    """The whole form is saved; an unticked box is a 'no' (browsers do not send it)."""
    dep = found(uow.session, Department, department_id, "department")
    actions.departments.update_department(uow, dep.id, **form.fields())
    return f"/admin/departments/{dep.id}?done=department-saved"
