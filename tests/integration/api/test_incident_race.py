"""Two requests racing for a client's last incident: one ticket, one refusal, no overdraft."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from kernel.config import Topics
from services.ticket_store import service
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import Client, Ticket

T = Topics()


@pytest.mark.parametrize("racers", [2, 6])
def test_the_last_incident_is_spent_once(database_url: str, racers: int) -> None:
    upgrade(database_url)
    db = Database(database_url)
    try:
        with db.transaction() as s:
            dep = service.add_department(
                s, T, "Sales", show_in_support_center=True, per_incident=True
            )
            client = service.add_client(s, T, "Alice", ["alice@example.org"])
            service.grant_incidents(s, T, client.id, 1)
            dep_id, client_id = dep.id, client.id
        barrier = threading.Barrier(racers)
        results: list[str] = []

        def race(i: int) -> None:
            barrier.wait()
            try:
                with db.transaction() as s:
                    c = s.get(Client, client_id)
                    service.open_ticket_by_client(s, T, c, dep_id, f"ticket {i}", "please")
                results.append("opened")
            except service.InsufficientIncidents:
                results.append("refused")

        threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == ["opened"] + ["refused"] * (racers - 1)
        with db.transaction() as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == 1
            assert service.incident_balance(s, client_id) == 0
    finally:
        db.dispose()
