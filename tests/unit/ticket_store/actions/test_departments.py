from __future__ import annotations

import pytest

from schemas.events import DepartmentEntry
from services.ticket_store import actions
from services.ticket_store.domain.errors import Conflict, NotFound
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_new_department_is_published_and_audited(uow: FakeUnitOfWork) -> None:
    dep = actions.departments.add_department(uow, "Sales", per_incident=True)
    [(topic, key, entry)] = uow.emitted
    assert (topic, key) == (uow.topics.departments, str(dep.id))
    assert isinstance(entry, DepartmentEntry)
    assert entry.name == "Sales" and entry.per_incident and not entry.show_in_support_center
    [audit] = uow.audits
    assert (audit.actor, audit.action, audit.obj_id) == ("staff:1", "department.add", str(dep.id))
    assert audit.details == {"name": "Sales"}


def test_a_duplicate_name_is_a_conflict(uow: FakeUnitOfWork) -> None:
    actions.departments.add_department(uow, "Sales")
    uow.reset()
    with pytest.raises(Conflict):
        actions.departments.add_department(uow, "Sales")
    assert uow.emitted == [] and uow.audits == []


def test_an_update_republishes_with_the_changed_fields_audited(uow: FakeUnitOfWork) -> None:
    dep = actions.departments.add_department(uow, "Sales")
    uow.reset()
    actions.departments.update_department(uow, dep.id, insufficient_notice="Top up.")
    [(_topic, _key, entry)] = uow.emitted
    assert isinstance(entry, DepartmentEntry) and entry.insufficient_notice == "Top up."
    assert [(a.action, a.details) for a in uow.audits] == [
        ("department.update", {"insufficient_notice": "Top up."})
    ]


def test_update_refusals(uow: FakeUnitOfWork) -> None:
    sales = actions.departments.add_department(uow, "Sales")
    actions.departments.add_department(uow, "Tech")
    with pytest.raises(NotFound):
        actions.departments.update_department(uow, 999, name="X")
    with pytest.raises(ValueError, match="unknown department fields"):
        actions.departments.update_department(uow, sales.id, colour="red")
    with pytest.raises(Conflict):
        actions.departments.update_department(uow, sales.id, name="Tech")
