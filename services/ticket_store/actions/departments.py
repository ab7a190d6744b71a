"""Departments: adding and changing them, and their entry on directory.departments.

May import: `unit_of_work`, `domain`, the store's models, `actions.events`.
"""

from __future__ import annotations

from sqlalchemy import select

from services.ticket_store.actions.events import department_entry
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.models import Department
from services.ticket_store.unit_of_work import UnitOfWork

EDITABLE = frozenset({"name", "show_in_support_center", "per_incident", "insufficient_notice"})


def publish_department(uow: UnitOfWork, dep: Department) -> None:
    uow.emit(uow.topics.departments, str(dep.id), department_entry(dep))


def add_department(
    uow: UnitOfWork,
    name: str,
    *,
    show_in_support_center: bool = False,
    per_incident: bool = False,
    insufficient_notice: str = "",
) -> Department:
    session = uow.session
    if session.scalar(select(Department).where(Department.name == name)):
        raise Conflict(f"a department named {name!r} exists")
    dep = Department(
        name=name,
        show_in_support_center=show_in_support_center,
        per_incident=per_incident,
        insufficient_notice=insufficient_notice,
    )
    session.add(dep)
    uow.flush()
    publish_department(uow, dep)
    uow.audit("department.add", "department", dep.id, name=name)
    return dep


def update_department(uow: UnitOfWork, department_id: int, **fields: object) -> Department:
    session = uow.session
    dep = session.get(Department, department_id)
    if dep is None:
        raise NotFound(f"department {department_id}")
    unknown = set(fields) - EDITABLE
    if unknown:
        raise ValueError(f"unknown department fields: {sorted(unknown)}")
    if "name" in fields:
        other = session.scalar(select(Department).where(Department.name == fields["name"]))
        if other is not None and other.id != dep.id:
            raise Conflict(f"a department named {fields['name']!r} exists")
    for key, value in fields.items():
        setattr(dep, key, value)
    uow.flush()
    publish_department(uow, dep)
    uow.audit("department.update", "department", dep.id, **fields)
    return dep
