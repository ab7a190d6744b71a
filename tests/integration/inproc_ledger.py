"""The router's incident ledger without a broker, for the store's API and page tests.

It reads the store's outbox in order (grants on billing.incidents, ticket requests on
tickets.requests), runs them through the router's own code (`Router.handle_grant`,
`web_requests.forward`, `Router.handle_ledger` on a `Ledger` of dicts) and applies the
answers with the store consumer's action: the same decisions a real router makes, in a
thread, so the API's bounded wait sees them arrive. The end-to-end run through a real
broker and router is tests/integration/router/test_incident_authority.py.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from schemas.codec import loads_ticket_command
from schemas.ticket_requests import TicketDecided
from services.router import web_requests
from services.router.directory import InMemoryDirectory
from services.router.ledger import Ledger
from services.router.outputs import LEDGER, Out
from services.router.pipeline import Router
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import OutboxEvent


class InProcessLedger:
    def __init__(self, db: Database, poll_s: float = 0.02) -> None:
        self.db = db
        self.poll_s = poll_s
        self.router = Router(InMemoryDirectory(), b"test-ticket-key")
        self.ledger = Ledger({}, {}, {}, {})
        self.cursor = 0
        self.stopping = threading.Event()
        self.paused = threading.Event()  # set: nothing is settled (a router that is down)
        self.lock = threading.Lock()  # a test may step too, besides the thread
        self.thread = threading.Thread(target=self._run, name="inproc-ledger", daemon=True)

    def __enter__(self) -> InProcessLedger:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(10)

    def step(self) -> int:
        """Settle what the outbox holds beyond the cursor; returns how many records."""
        with self.lock:
            return self._step()

    def _step(self) -> int:
        topics = self.db.topics
        with self.db.transaction() as s:
            rows = s.execute(
                select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.key, OutboxEvent.value)
                .where(OutboxEvent.id > self.cursor)
                .where(OutboxEvent.topic.in_([topics.incidents, topics.ticket_requests]))
                .order_by(OutboxEvent.id)
            ).all()
        for row_id, topic, key, value in rows:
            self.cursor = row_id
            if topic == topics.incidents:
                items = self.router.handle_grant(key, value)
            else:
                items = web_requests.forward(value)
            for item in items:
                self._settle(item)
        return len(rows)

    def _settle(self, item: Out) -> None:
        if item.topic != LEDGER:
            return
        for out in self.router.handle_ledger(item.value(), self.ledger, time.time()):
            cmd = loads_ticket_command(out.value()) if out.topic == "ticket_commands" else None
            if isinstance(cmd, TicketDecided):
                with self.db.unit_of_work(actor="router") as uow:
                    actions.ticket_requests.apply_decision(uow, cmd)

    def _run(self) -> None:
        while not self.stopping.is_set():
            if self.paused.is_set() or not self.step():
                self.stopping.wait(self.poll_s)
