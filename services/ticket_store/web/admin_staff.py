"""Staff members: list, add, edit (as `/api/v1/admin/staff`).

The seed: a staff member handles only the tickets of the departments they are
assigned to, so departments are check boxes here. A password is typed, never
shown back; on edit an empty password keeps the current one.
"""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store import access, actions
from services.ticket_store.models import Staff
from services.ticket_store.queries.directory import all_departments, all_staff
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web.admin_forms import NewStaffForm, StaffForm, found
from services.ticket_store.web.common import Pages, View, edit_page

pages = Pages("admin")


@pages.page("/admin/staff")
def staff_page(view: View) -> Response:
    """Everyone, inactive members too, and the form to add one."""
    return view.render(
        "admin_staff.html",
        rows=all_staff(view.session, by_name=True),
        departments=all_departments(view.session),
        form=view.form or {"active": True},
    )


@pages.page("/admin/staff/{staff_id:int}")
def member_page(view: View, staff_id: int) -> Response:
    member = found(view.session, Staff, staff_id, "staff member")
    back = ("/admin/staff", "All staff")
    departments = all_departments(view.session)
    fields = "admin_staff_fields.html"
    heading = f"Staff member: {member.name}"
    return edit_page(
        view, heading, fields, back, StaffForm.of(member), member=member, departments=departments
    )


@pages.action("/admin/staff", NewStaffForm, staff_page)
def add_staff(uow: UnitOfWork, admin: Staff, form: NewStaffForm) -> str:
    """The API's rules for a new member; one left inactive is deactivated right after."""
    fields = form.fields()
    active = fields.pop("active")
    staff = actions.staff.add_staff(uow, **fields)
    if not active:
        actions.staff.update_staff(uow, staff.id, active=False)
    return f"/admin/staff/{staff.id}?done=staff-added"


@pages.action("/admin/staff/{staff_id:int}", StaffForm, member_page)
def edit_staff(uow: UnitOfWork, admin: Staff, form: StaffForm, staff_id: int) -> str:
    """Departments are replaced as ticked; a new password or deactivating ends their logins."""
    staff = found(uow.session, Staff, staff_id, "staff member")
    access.check_staff_change(admin, staff.id, active=form.active, is_admin=form.is_admin)
    actions.staff.update_staff(uow, staff.id, **form.fields())
    return f"/admin/staff/{staff.id}?done=staff-saved"
