"""Administration start page and departments: list, add, edit (as `/api/v1/admin/departments`).

The seed: "To add a department to the Support center, select the Show in the
Support center check box on the department edit form." Per-incident (paid)
support and its notice are set per department too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store import actions
from services.ticket_store.api import views
from services.ticket_store.api.deps import SessionDep
from services.ticket_store.models import Department
from services.ticket_store.unit_of_work import UnitOfWork
from services.ticket_store.web import queries
from services.ticket_store.web.admin_common import (
    actor,
    admin_of,
    checked,
    need_admin,
    notice,
    validated,
)
from services.ticket_store.web.common import MAX_ID, Refused, Who, act, render_page

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_home(request: Request, session: SessionDep) -> Response:
    """The Administration entry of the navigation: links to its sections."""
    who, _admin = need_admin(request, session)
    return render_page(request, "admin_index.html", who)


def _department(session: Session, department_id: int) -> Department:
    dep = session.get(Department, department_id) if department_id <= MAX_ID else None
    if dep is None:
        raise Refused(404, f"department {department_id} does not exist")
    return dep


def _form(
    name: str, show_in_support_center: str, per_incident: str, insufficient_notice: str
) -> dict[str, object]:
    """The form's fields as the API's DepartmentIn / DepartmentPatch take them."""
    return {
        "name": name.strip(),
        "show_in_support_center": checked(show_in_support_center),
        "per_incident": checked(per_incident),
        "insufficient_notice": insufficient_notice,
    }


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
        "admin_departments.html",
        who,
        {
            "departments": queries.all_departments(session),
            "form": form or {},
            "error": error,
            "notice": notice(request),
        },
        status,
    )


@router.get("/admin/departments")
def departments(request: Request, session: SessionDep) -> Response:
    who, _admin = need_admin(request, session)
    return _list_page(request, session, who)


@router.post("/admin/departments")
def add_department(
    request: Request,
    name: Annotated[str, Form()] = "",
    show_in_support_center: Annotated[str, Form()] = "",
    per_incident: Annotated[str, Form()] = "",
    insufficient_notice: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    form = _form(name, show_in_support_center, per_incident, insufficient_notice)

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        body = validated(views.DepartmentIn, **form)
        dep = actions.departments.add_department(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)), **body.model_dump()
        )
        return f"/admin/departments/{dep.id}?done=department-added"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _list_page(request, s, who, error=message, status=status, form=form)

    return act(request, "staff", csrf_token, work, show)


def _edit_page(
    request: Request,
    session: Session,
    who: Who,
    department_id: int,
    *,
    error: str = "",
    status: int = 200,
    form: dict[str, object] | None = None,
) -> Response:
    admin_of(who)
    dep = _department(session, department_id)
    shown = form or {
        "name": dep.name,
        "show_in_support_center": dep.show_in_support_center,
        "per_incident": dep.per_incident,
        "insufficient_notice": dep.insufficient_notice,
    }
    return render_page(
        request,
        "admin_department.html",
        who,
        {"dep": dep, "form": shown, "error": error, "notice": notice(request)},
        status,
    )


@router.get("/admin/departments/{department_id:int}")
def department(request: Request, session: SessionDep, department_id: int) -> Response:
    who, _admin = need_admin(request, session)
    return _edit_page(request, session, who, department_id)


@router.post("/admin/departments/{department_id:int}")
def edit_department(
    request: Request,
    department_id: int,
    name: Annotated[str, Form()] = "",
    show_in_support_center: Annotated[str, Form()] = "",
    per_incident: Annotated[str, Form()] = "",
    insufficient_notice: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The whole form is saved; an unticked box is a 'no' (browsers do not send it)."""
    form = _form(name, show_in_support_center, per_incident, insufficient_notice)

    def work(s: Session, who: Who) -> str:
        admin = admin_of(who)
        dep = _department(s, department_id)
        body = validated(views.DepartmentPatch, **form)
        actions.departments.update_department(
            UnitOfWork(s, request.app.state.settings.topics, actor(admin)),
            dep.id,
            **body.model_dump(exclude_unset=True),
        )
        return f"/admin/departments/{dep.id}?done=department-saved"

    def show(s: Session, who: Who, status: int, message: str) -> Response:
        return _edit_page(request, s, who, department_id, error=message, status=status, form=form)

    return act(request, "staff", csrf_token, work, show)
