from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.events import GatewayEntry
from services.ticket_store import actions
from services.ticket_store.domain.errors import Conflict, NotFound
from services.ticket_store.models import Department, Gateway
from tests.unit.ticket_store import builders
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def _gateway(uow: FakeUnitOfWork, dep: Department, name: str = "support") -> Gateway:
    return actions.gateways.add_gateway(
        uow,
        name=name,
        type="local",
        protocol="maildir",
        maildir_path="/var/mail/support",
        address="Support@Company.NET",
        department_id=dep.id,
    )


def test_a_gateway_is_published_with_its_address_normalised(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    uow.reset()
    gw = _gateway(uow, dep)
    [(topic, key, entry)] = uow.emitted
    assert (topic, key) == (uow.topics.gateways, gw.id)
    assert isinstance(entry, GatewayEntry) and entry.address == "support@company.net"
    assert [(a.action, a.details) for a in uow.audits] == [("gateway.add", {"name": "support"})]


def test_add_refusals(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    _gateway(uow, dep)
    with pytest.raises(Conflict):
        _gateway(uow, dep)
    with pytest.raises(NotFound):
        actions.gateways.add_gateway(uow, name="other", department_id=999)


def test_an_edit_republishes_and_audits_field_names_not_secrets(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    gw = _gateway(uow, dep)
    uow.reset()
    actions.gateways.edit_gateway(
        uow, "support", name="helpdesk", password_encrypted="opaque", poll_interval_s=60
    )
    [(_t, key, entry)] = uow.emitted
    assert key == gw.id and isinstance(entry, GatewayEntry) and entry.name == "helpdesk"
    [audit] = uow.audits
    assert audit.action == "gateway.edit"
    assert audit.details == {"fields": ["name", "poll_interval_s", "password"]}


def test_edit_refusals(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    _gateway(uow, dep, "support")
    _gateway(uow, dep, "sales")
    with pytest.raises(NotFound):
        actions.gateways.edit_gateway(uow, "nope", enabled=False)
    with pytest.raises(ValueError, match="not editable: id"):
        actions.gateways.edit_gateway(uow, "support", id="x")
    with pytest.raises(Conflict):
        actions.gateways.edit_gateway(uow, "support", name="sales")
    with pytest.raises(NotFound):
        actions.gateways.edit_gateway(uow, "support", department_id=999)
    with pytest.raises(ValidationError):
        actions.gateways.edit_gateway(uow, "support", poll_interval_s=1)


def test_removing_a_gateway_publishes_a_tombstone(uow: FakeUnitOfWork) -> None:
    dep = builders.department(uow)
    gw = _gateway(uow, dep)
    uow.reset()
    assert actions.gateways.remove_gateway(uow, "support") == gw.id
    assert uow.emitted == [(uow.topics.gateways, gw.id, None)]
    assert [(a.action, a.details) for a in uow.audits] == [("gateway.remove", {"name": "support"})]
