"""Staff: adding people and changing them (name, email, password, departments, rights).

A staff member works only in the departments they are assigned to (the seed).
May import: `unit_of_work`, `domain`, `auth` (password hashes, revoking logins),
the store's models.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ticket_store.auth import hash_password, revoke_all
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.domain.text import normalise_email
from services.ticket_store.models import Department, Staff
from services.ticket_store.unit_of_work import UnitOfWork


def _departments(session: Session, department_ids: Iterable[int]) -> list[Department]:
    deps = []
    for dep_id in dict.fromkeys(department_ids):
        dep = session.get(Department, dep_id)
        if dep is None:
            raise NotFound(f"department {dep_id}")
        deps.append(dep)
    return deps


def add_staff(
    uow: UnitOfWork,
    name: str,
    email: str,
    password: str,
    *,
    is_admin: bool = False,
    department_ids: Iterable[int] = (),
) -> Staff:
    session = uow.session
    address = normalise_email(email)
    if "@" not in address:
        raise ValueError(f"not an email address: {email!r}")
    if session.scalar(select(Staff).where(Staff.email == address)):
        raise Conflict(f"a staff member with the email {address} exists")
    staff = Staff(
        name=name,
        email=address,
        password_hash=hash_password(password) if password else "",
        is_admin=is_admin,
        active=True,
    )
    staff.departments = _departments(session, department_ids)
    session.add(staff)
    uow.flush()
    uow.audit(
        "staff.add",
        "staff",
        staff.id,
        email=address,
        is_admin=is_admin,
        departments=[d.id for d in staff.departments],
    )
    return staff


def update_staff(
    uow: UnitOfWork,
    staff_id: int,
    *,
    name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    active: bool | None = None,
    is_admin: bool | None = None,
    department_ids: Iterable[int] | None = None,
) -> Staff:
    """A new password or a deactivation ends every login of the person."""
    session = uow.session
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"staff member {staff_id}")
    changed: dict[str, object] = {}
    if name is not None:
        staff.name = changed["name"] = name
    if email is not None:
        address = normalise_email(email)
        other = session.scalar(select(Staff).where(Staff.email == address))
        if other is not None and other.id != staff.id:
            raise Conflict(f"a staff member with the email {address} exists")
        staff.email = changed["email"] = address
    if password is not None:
        staff.password_hash = hash_password(password)
        changed["password"] = "changed"
        revoke_all(session, staff_id=staff.id)
    if active is not None:
        staff.active = changed["active"] = active
        if not active:
            revoke_all(session, staff_id=staff.id)
    if is_admin is not None:
        staff.is_admin = changed["is_admin"] = is_admin
    if department_ids is not None:
        staff.departments = _departments(session, department_ids)
        changed["departments"] = [d.id for d in staff.departments]
    uow.flush()
    uow.audit("staff.update", "staff", staff.id, **changed)
    return staff
