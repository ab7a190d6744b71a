from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from services.ticket_store import actions
from services.ticket_store.domain.replies import (
    REPLY_SCOPES,
    check_reply_scope,
    fill_placeholders,
    pickable_by,
    placeholders,
)
from services.ticket_store.models import PredefinedReply
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_known_placeholders_are_filled_unknown_left_alone() -> None:
    values = {"client_name": "Alice", "ticket_number": "7"}
    assert fill_placeholders("Dear {client_name}, #{ticket_number} {x}", values) == (
        "Dear Alice, #7 {x}"
    )


@given(st.text())
def test_filling_never_fails_and_is_identity_without_placeholders(text: str) -> None:
    assert fill_placeholders(text, {}) == text


def test_placeholder_values_are_not_expanded_again() -> None:
    """A client named "{staff_name}" must not pull other values into the text."""
    out = fill_placeholders("{client_name}", {"client_name": "{staff_name}", "staff_name": "John"})
    assert out == "{staff_name}"


def test_the_placeholders_a_reply_may_use() -> None:
    values = placeholders(
        client_name="Alice",
        client_email="alice@example.org",
        ticket_number=12,
        ticket_subject="VPS down",
        staff_name="John",
        department="Technical support",
    )
    assert values["ticket_number"] == "12"
    text = "{client_name} <{client_email}> #{ticket_number} {ticket_subject}, {staff_name}"
    assert fill_placeholders(text + " ({department})", values) == (
        "Alice <alice@example.org> #12 VPS down, John (Technical support)"
    )


def test_scopes_need_an_existing_owner(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    john = builders.staff(uow, dep)
    assert REPLY_SCOPES == ("all", "department", "staff")
    check_reply_scope(uow.session, "all", None, None)
    check_reply_scope(uow.session, "department", dep.id, None)
    check_reply_scope(uow.session, "staff", None, john.id)
    with pytest.raises(ValueError, match="scope must be one of"):
        check_reply_scope(uow.session, "team", None, None)
    with pytest.raises(ValueError, match="department-wide"):
        check_reply_scope(uow.session, "department", 999, None)
    with pytest.raises(ValueError, match="personal"):
        check_reply_scope(uow.session, "staff", None, None)


def test_a_person_may_pick_everyones_their_departments_and_their_own(uow: FakeUnitOfWork) -> None:
    tech = builders.department(uow, "Tech")
    sales = builders.department(uow, "Sales")
    john = builders.staff(uow, tech)
    gary = builders.staff(uow, sales, "Gary Stark")
    add = actions.predefined_replies.add_predefined_reply
    add(uow, "everyone", "x")
    add(uow, "tech", "x", scope="department", department_id=tech.id)
    add(uow, "sales", "x", scope="department", department_id=sales.id)
    add(uow, "john's", "x", scope="staff", staff_id=john.id)
    add(uow, "gary's", "x", scope="staff", staff_id=gary.id)
    uow.flush()

    def titles(staff_id: int, deps: set[int]) -> list[str]:
        query = select(PredefinedReply.title).where(pickable_by(staff_id, deps))
        return list(uow.session.scalars(query.order_by(PredefinedReply.id)))

    assert titles(john.id, {tech.id}) == ["everyone", "tech", "john's"]
    assert titles(gary.id, {tech.id, sales.id}) == ["everyone", "tech", "sales", "gary's"]
    assert titles(john.id, set()) == ["everyone", "john's"]
