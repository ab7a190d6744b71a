"""faust agent tests without a broker (agent.test_context), per the faust testing guide."""

from __future__ import annotations

import asyncio

import pytest

from schemas.events import ClientEntry, DepartmentEntry, IncidentsGranted
from tests.unit.router.helpers import raw_event, simple


@pytest.fixture
def router_app(monkeypatch: pytest.MonkeyPatch):
    """The app module with the directory primed, and every produced record captured."""
    from services.router import app as mod

    mod.app.finalize()
    mod.app.flow_control.resume()
    sent: list[tuple[str, str, bytes]] = []

    async def capture(outs) -> None:
        sent.extend((o.topic, o.key, o.value()) for o in outs)

    monkeypatch.setattr(mod, "emit", capture)
    monkeypatch.setattr(mod.feed, "synced_at", float("inf"))
    mod.directory.clients.clear()
    mod.directory.apply_client(
        b"alice@example.com",
        ClientEntry(email="alice@example.com", client_id=7, name="A").model_dump_json().encode(),
    )
    mod.directory.departments[2] = DepartmentEntry(department_id=2, name="paid", per_incident=True)
    for table in (mod.balances, mod.grants, mod.charges, mod.notices):
        table.data.clear()
    return mod, sent


def _run(coro):
    return asyncio.run(coro)


def test_route_agent_emits_outcome_for_unknown_sender(router_app) -> None:
    mod, sent = router_app

    async def go() -> None:
        async with mod.route.test_context() as agent:
            raw = raw_event(simple(frm="bob@example.org"))
            await agent.put(key=b"gw1", value=raw.model_dump_json().encode())

    _run(go())
    assert [t for t, _, _ in sent] == ["incoming", "outcomes"]
    assert b'"decision":"incoming"' in sent[1][2]


def test_route_agent_survives_garbage(router_app) -> None:
    mod, sent = router_app

    async def go() -> None:
        async with mod.route.test_context() as agent:
            await agent.put(key=b"gw1", value=b"\x00garbage")
            await agent.put(key=None, value=b"")
            await agent.put(key=b"gw1", value=raw_event(simple()).model_dump_json().encode())

    _run(go())
    topics = [t for t, _, _ in sent]
    assert topics.count("dead") == 2 and topics.count("outcomes") == 2
    assert topics[-1] == "ledger"  # the third mail still went on: no stall


def test_settle_agent_charges_once_and_notices_once(router_app) -> None:
    mod, sent = router_app
    from services.router.ledger import GrantForward

    async def go() -> None:
        grant = GrantForward(grant=IncidentsGranted(grant_id="g1", client_id=7, amount=1))
        requests = []
        for _ in range(3):
            stage1 = mod.router.handle_raw(
                b"gw1", raw_event(simple(), department_id=2).model_dump_json().encode()
            )
            requests.append(stage1[0].value())
        async with mod.settle.test_context() as agent:
            await agent.put(key=b"7", value=grant.model_dump_json().encode())
            for value in requests:
                await agent.put(key=b"7", value=value)
            await agent.put(key=b"7", value=requests[0])  # redelivery of the first

    _run(go())
    outcomes = [v for t, _, v in sent if t == "outcomes"]
    assert [b'"ticket_opened"' in v for v in outcomes] == [True, False, False, True]
    assert sum(b'"insufficient_incidents"' in v for v in outcomes) == 2
    assert [t for t, _, _ in sent].count("outbound") == 1
    assert [t for t, _, _ in sent].count("ticket_commands") == 2  # one ticket, re-emitted once
    assert mod.ledger.balance(7) == 0


def test_grants_agent_forwards_by_client(router_app) -> None:
    mod, sent = router_app

    async def go() -> None:
        async with mod.forward_grants.test_context() as agent:
            g = IncidentsGranted(grant_id="g9", client_id=42, amount=5)
            await agent.put(key=b"42", value=g.model_dump_json().encode())
            await agent.put(key=b"42", value=b"not json")

    _run(go())
    assert sent[0][0] == "ledger" and sent[0][1] == "42"
    assert sent[1][0] == "dead"
