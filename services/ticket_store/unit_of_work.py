"""The unit of work: one transaction, who acts in it, and what it tells the world.

Every action takes one. `emit` (an event on the outbox) and `audit` (an entry in
the audit log) are written in the same transaction as the change itself, so they
commit or roll back together; no action touches the outbox or the audit table
any other way. Unit tests use `FakeUnitOfWork` from
`tests/unit/ticket_store/fakes.py`, which records both instead of writing rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from kernel.config import Topics
from schemas import codec
from schemas.events import LifecycleEnvelope, TicketEventBase
from services.ticket_store.bulk import insert_rows
from services.ticket_store.models import AuditEntry, OutboxEvent, Ticket

E = TypeVar("E", bound=LifecycleEnvelope)


class UnitOfWork:
    """A session in a transaction, the acting person (``staff:3``, ``client:7``, ``mail``…),
    what caused the work (``request:<id>``, ``email:<id>``, or ''), and the topic names
    events go to."""

    def __init__(
        self, session: Session, topics: Topics, actor: str = "system", cause: str = ""
    ) -> None:
        self.session = session
        self.topics = topics
        self.actor = actor
        self.cause = cause

    @staticmethod
    def check(event: BaseModel | None) -> None:
        """A lifecycle event without its sequence is a bug: it goes out through
        `ticket_event` (or `stamped`), never bare, or consumers would see a gap."""
        if isinstance(event, LifecycleEnvelope) and event.sequence < 1:
            raise ValueError(f"{type(event).__name__} emitted without its sequence")

    def emit(self, topic: str, key: str, event: BaseModel | None) -> None:
        """An event for `topic`, published by the outbox relay after commit; None is a tombstone."""
        self.check(event)
        value = None if event is None else codec.dumps(event)
        self.session.add(OutboxEvent(topic=topic, key=key, value=value))

    def emit_many(self, events: Iterable[tuple[str, str, BaseModel | None]]) -> None:
        """`emit` for many (topic, key, event), in order, in one executemany INSERT: the
        consumer's bulk paths, where one ORM object per event costs more than the event."""
        events = list(events)
        for _topic, _key, event in events:
            self.check(event)
        rows = [
            {"topic": topic, "key": key, "value": None if e is None else codec.dumps(e)}
            for topic, key, e in events
        ]
        insert_rows(self.session, OutboxEvent.__table__, rows)

    @contextmanager
    def caused_by(self, cause: str) -> Iterator[None]:
        """Within the block, events name `cause` (the consumer's batch: one email each)."""
        outer, self.cause = self.cause, cause
        try:
            yield
        finally:
            self.cause = outer

    def next_sequence(self, ticket: Ticket) -> int:
        """The ticket's next event sequence, counted in its row in this transaction.

        One atomic UPDATE: on PostgreSQL it row-locks the ticket until commit, so
        concurrent writers to one ticket take numbers in commit order; on SQLite the
        unit of work holds the write lock anyway. A rollback takes its numbers back,
        so the sequence has no gaps.
        """
        self.session.flush()
        return self.session.execute(
            update(Ticket)
            .where(Ticket.number == ticket.number)
            .values(event_sequence=Ticket.event_sequence + 1)
            .returning(Ticket.event_sequence)
        ).scalar_one()

    def stamped(
        self, event: E, sequence: int, *, actor: str | None = None, cause: str | None = None
    ) -> E:
        """`event` with its sequence, actor and cause (the unit's own unless given)."""
        return event.model_copy(
            update={
                "sequence": sequence,
                "actor": actor or self.actor,
                "cause": self.cause if cause is None else cause,
            }
        )

    def ticket_event(
        self,
        ticket: Ticket,
        event: TicketEventBase,
        *,
        actor: str | None = None,
        cause: str | None = None,
    ) -> None:
        """A lifecycle event of `ticket` on tickets.events (keyed by the ticket id), with
        the ticket's next sequence and who and what caused it."""
        stamped = self.stamped(event, self.next_sequence(ticket), actor=actor, cause=cause)
        self.emit(self.topics.ticket_events, ticket.id, stamped)

    def audit(
        self, action: str, obj: str, obj_id: object, *, actor: str | None = None, **details: object
    ) -> None:
        """Who did what to which object; `actor` overrides the unit's own (billing echoes)."""
        self.session.add(
            AuditEntry(
                actor=actor or self.actor,
                action=action,
                object_type=obj,
                object_id=str(obj_id),
                details=details,
            )
        )

    def flush(self) -> None:
        self.session.flush()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: what fails inside rolls back alone (the consumer's per record)."""
        with self.session.begin_nested():
            yield
