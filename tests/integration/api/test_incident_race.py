"""Web requests racing for a client's last incident: one ticket, the rest refused, no
overdraft. The router's ledger decides (here its code run in process on the outbox; a
mail racing a web request through the real broker and router is
tests/integration/test_incident_authority.py)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from services.ticket_store.domain.errors import InsufficientIncidents
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import Client, Ticket
from services.ticket_store.models_ticket_requests import RequestState
from services.ticket_store.queries.ticket_requests import await_decision
from tests.integration.inproc_ledger import InProcessLedger


@pytest.mark.parametrize("racers", [2, 6])
def test_the_last_incident_is_spent_once(database_url: str, racers: int) -> None:
    upgrade(database_url)
    db = Database(database_url)
    try:
        with db.unit_of_work() as uow:
            dep = actions.departments.add_department(
                uow, "Sales", show_in_support_center=True, per_incident=True
            )
            client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
            actions.clients.grant_incidents(uow, client.id, 1)
            dep_id, client_id = dep.id, client.id
        barrier = threading.Barrier(racers)
        results: list[str] = []

        def race(i: int) -> None:
            barrier.wait()
            try:
                with db.unit_of_work(actor=f"client:{client_id}") as uow:
                    c = uow.session.get(Client, client_id)
                    got = actions.ticket_requests.open_ticket_by_client(
                        uow, c, dep_id, f"ticket {i}", "please"
                    )
                    request_id = got.id
                state = await_decision(db.transaction, request_id, 30)
                results.append("opened" if state == RequestState.OPENED else "refused")
            except InsufficientIncidents:
                results.append("refused")

        with InProcessLedger(db):
            threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        assert sorted(results) == ["opened"] + ["refused"] * (racers - 1)
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == 1
            assert incident_balance(s, client_id) == 0
    finally:
        db.dispose()
