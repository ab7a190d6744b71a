"""The web's form models: what browsers send (text, ticked boxes, blank numbers) becomes what
the actions take, and a refusal names the fields and rules without repeating what was typed."""

from __future__ import annotations

import pytest

from services.ticket_store.web.admin_forms import (
    DepartmentForm,
    IncidentsForm,
    NewGatewayForm,
    NewStaffForm,
    StaffForm,
)
from services.ticket_store.web.forms import (
    LoginForm,
    NewTicketForm,
    Posted,
    PredefinedReplyForm,
    RatingForm,
    form_number,
)


def test_ids_typed_in_a_form() -> None:
    assert [form_number(v) for v in ("12", " #12 ", "", "abc", "0", "-3", str(2**31))] == [
        12,
        12,
        None,
        None,
        None,
        None,
        None,
    ]


def test_ticked_boxes_and_blank_passwords() -> None:
    form = Posted(StaffForm, {"name": " Nina ", "email": "n@x", "department_ids": ["2", "#1"]})
    valid = form.valid()
    assert (valid.name, valid.is_admin, valid.active, valid.password) == (
        "Nina",
        False,
        False,
        None,
    )
    assert valid.fields() == {
        "name": "Nina",
        "email": "n@x",
        "department_ids": [2, 1],
        "is_admin": False,
        "active": False,
    }
    ticked = Posted(DepartmentForm, {"name": "Sales", "per_incident": "on"}).valid()
    assert (ticked.per_incident, ticked.show_in_support_center) == (True, False)


def test_a_refusal_names_the_field_never_the_password() -> None:
    secret = "short!"
    with pytest.raises(ValueError) as refused:
        Posted(NewStaffForm, {"name": "Nina", "email": "n@x", "password": secret}).valid()
    assert "password" in str(refused.value) and secret not in str(refused.value)
    with pytest.raises(ValueError, match="not a valid choice"):
        Posted(StaffForm, {"name": "Nina", "department_ids": ["sales"]}).valid()


def test_the_pages_own_sentences() -> None:
    with pytest.raises(ValueError, match="^Choose a department. The message is empty.$"):
        Posted(NewTicketForm, {"subject": "s"}).valid()
    with pytest.raises(ValueError, match="Choose a score from 1 to 5."):
        Posted(RatingForm, {"score": "6"}).valid()
    with pytest.raises(ValueError, match="The title has 1 to 200 characters."):
        Posted(PredefinedReplyForm, {"title": "  ", "text": "x"}).valid()
    with pytest.raises(ValueError, match="amount must not be zero"):
        Posted(IncidentsForm, {"amount": "0"}).valid()
    assert Posted(IncidentsForm, {"amount": "-2"}).valid().reason == "granted by hand"


def test_a_new_gateway_gets_its_type_from_step_one() -> None:
    base = {"name": "Box", "address": "s@x", "department_id": "1"}
    with pytest.raises(ValueError, match="Choose the gateway type first"):
        Posted(NewGatewayForm, base).valid()
    local = Posted(NewGatewayForm, base | {"type": "local", "maildir_path": "/m"}).valid()
    assert local.gateway()["type"] == "local" and local.gateway()["protocol"] == "maildir"
    pushed = Posted(NewGatewayForm, base | {"type": "local", "protocol": "lmtp"}).valid()
    assert pushed.gateway()["type"] == "local" and pushed.gateway()["protocol"] == "lmtp"
    with pytest.raises(ValueError, match="maildir_path"):  # a Maildir still needs its path
        Posted(NewGatewayForm, base | {"type": "local", "protocol": "maildir"}).valid().gateway()
    external = Posted(NewGatewayForm, base | {"type": "external", "host": "h", "port": ""}).valid()
    with pytest.raises(ValueError, match="host and port"):
        external.gateway()
    with pytest.raises(ValueError, match="poll_interval_s"):
        Posted(NewGatewayForm, base | {"type": "local", "poll_interval_s": "5"}).valid()


def test_the_login_form_knows_two_roles_and_shows_no_password() -> None:
    assert LoginForm(role="admin").role == "client"
    assert LoginForm(role="staff").role == "staff"
    posted = Posted(StaffForm, {"name": "x", "password": "p", "csrf_token": "t"})
    assert posted.shown() == {"name": "x"} and posted.csrf_token == "t"
