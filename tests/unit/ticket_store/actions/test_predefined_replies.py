from __future__ import annotations

import pytest

from services.ticket_store import actions
from services.ticket_store.domain.errors import NotFound
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_a_reply_keeps_only_the_owner_its_scope_needs(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    uow.reset()
    reply = actions.predefined_replies.add_predefined_reply(
        uow, "Hi", "Hello {client_name}", scope="department", department_id=dep.id, staff_id=john.id
    )
    assert (reply.department_id, reply.staff_id) == (dep.id, None)
    assert [(a.action, a.details) for a in uow.audits] == [("reply.add", {"scope": "department"})]
    assert uow.emitted == []


def test_an_update_rechecks_the_scope(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    reply = actions.predefined_replies.add_predefined_reply(uow, "Hi", "Hello")
    uow.reset()
    actions.predefined_replies.update_predefined_reply(
        uow, reply.id, scope="staff", staff_id=john.id
    )
    assert (reply.scope, reply.staff_id, reply.title) == ("staff", john.id, "Hi")
    assert [(a.action, a.details) for a in uow.audits] == [("reply.update", {"scope": "staff"})]
    with pytest.raises(ValueError, match="department-wide"):
        actions.predefined_replies.update_predefined_reply(uow, reply.id, scope="department")
    with pytest.raises(NotFound):
        actions.predefined_replies.update_predefined_reply(uow, 999, title="x")


def test_deleting_is_audited_and_a_missing_reply_is_not_found(uow: FakeUnitOfWork) -> None:
    reply = actions.predefined_replies.add_predefined_reply(uow, "Hi", "Hello")
    uow.reset()
    actions.predefined_replies.delete_predefined_reply(uow, reply.id)
    assert [(a.action, a.obj_id) for a in uow.audits] == [("reply.delete", str(reply.id))]
    uow.flush()
    with pytest.raises(NotFound):
        actions.predefined_replies.delete_predefined_reply(uow, reply.id)
