"""Administration start page and departments: list, add, edit (as `/api/v1/admin/departments`).

The seed: "To add a department to the Support center, select the Show in the
Support center check box on the department edit form." Per-incident (paid)
support and its notice are set per department too.
"""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store import actions
from services.ticket_store.models import Department, Staff
from services.ticket_store.queries.directory import all_departments
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import DepartmentForm, found
from services.ticket_store.web.common import Pages, View, edit_page

pages = Pages("admin")


@pages.page("/admin")
def admin_home(view: View) -> Response:
    """The Administration entry of the navigation: links to its sections."""
    return view.render("admin_index.html")


@pages.page("/admin/departments")
def departments_page(view: View) -> Response:
    """Every department, and the form to add one."""
    return view.render(
        "admin_departments.html", rows=all_departments(view.session), form=view.form or {}
    )


@pages.page("/admin/departments/{department_id:int}")
def department_page(view: View, department_id: int) -> Response:
    dep = found(view.session, Department, department_id, "department")
    current = DepartmentForm.model_validate(dep, from_attributes=True).fields()
    back = ("/admin/departments", "All departments")
    return edit_page(view, f"Department: {dep.name}", "admin_department_fields.html", back, current)


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
