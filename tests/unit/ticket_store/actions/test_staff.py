from __future__ import annotations

import pytest

from services.ticket_store import actions
from services.ticket_store.auth import verify_password
from services.ticket_store.domain.errors import Conflict, NotFound
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_staff_member_is_added_in_their_departments_and_audited(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    uow.reset()
    person = actions.staff.add_staff(uow, "John", " John@Company.NET ", "", department_ids=[dep.id])
    assert person.email == "john@company.net" and person.password_hash == ""
    assert [d.id for d in person.departments] == [dep.id]
    assert uow.emitted == []
    [audit] = uow.audits
    assert (audit.action, audit.obj_id) == ("staff.add", str(person.id))
    assert audit.details == {
        "email": "john@company.net",
        "is_admin": False,
        "departments": [dep.id],
    }


def test_add_refusals(uow: FakeUnitOfWork) -> None:
    actions.staff.add_staff(uow, "John", "john@company.net", "")
    with pytest.raises(ValueError, match="not an email address"):
        actions.staff.add_staff(uow, "X", "nobody", "")
    with pytest.raises(Conflict):
        actions.staff.add_staff(uow, "Johnny", "JOHN@company.net", "")
    with pytest.raises(NotFound, match="department 42"):
        actions.staff.add_staff(uow, "Ann", "ann@company.net", "", department_ids=[42])


def test_an_update_audits_what_changed_and_never_the_password(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    person = actions.staff.add_staff(uow, "John", "john@company.net", "")
    uow.reset()
    actions.staff.update_staff(
        uow, person.id, name="John Smith", password="s3cret-pass", department_ids=[dep.id]
    )
    assert verify_password(person.password_hash, "s3cret-pass")
    [audit] = uow.audits
    assert audit.action == "staff.update"
    assert audit.details == {"name": "John Smith", "password": "changed", "departments": [dep.id]}


def test_update_refusals(uow: FakeUnitOfWork) -> None:
    actions.staff.add_staff(uow, "John", "john@company.net", "")
    gary = actions.staff.add_staff(uow, "Gary", "gary@company.net", "")
    with pytest.raises(NotFound):
        actions.staff.update_staff(uow, 999, name="X")
    with pytest.raises(Conflict):
        actions.staff.update_staff(uow, gary.id, email="john@company.net")
