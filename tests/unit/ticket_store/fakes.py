"""A unit of work for unit tests: a real session, but events and audit entries are recorded.

The session is SQLAlchemy on a throwaway SQLite file whose schema comes from the
Alembic migrations (upgraded once per test session into a template, copied per
test), so actions run their real queries; what they emit and audit lands in
`emitted` and `audits` instead of the outbox and audit tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kernel.config import Topics
from services.ticket_store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Audited:
    actor: str
    action: str
    obj: str
    obj_id: str
    details: dict[str, object] = field(default_factory=dict)


class FakeUnitOfWork(UnitOfWork):
    """A `UnitOfWork` that records what it would write: `emitted` holds (topic, key, event)
    in order, `audits` the audit entries; the session (flush, savepoints) is the real one."""

    def __init__(self, session: Session, topics: Topics, actor: str = "system") -> None:
        super().__init__(session, topics, actor)
        self.emitted: list[tuple[str, str, BaseModel | None]] = []
        self.audits: list[Audited] = []

    def emit(self, topic: str, key: str, event: BaseModel | None) -> None:
        self.check(event)
        self.emitted.append((topic, key, event))

    def emit_many(self, events: Iterable[tuple[str, str, BaseModel | None]]) -> None:
        for topic, key, event in events:
            self.emit(topic, key, event)

    def audit(
        self, action: str, obj: str, obj_id: object, *, actor: str | None = None, **details: object
    ) -> None:
        self.audits.append(Audited(actor or self.actor, action, obj, str(obj_id), details))

    # ------------------------------------------------------------ for assertions

    def events(self, topic: str) -> list[BaseModel | None]:
        return [event for t, _key, event in self.emitted if t == topic]

    def keys(self, topic: str) -> list[str]:
        return [key for t, key, _event in self.emitted if t == topic]

    def kinds(self, topic: str) -> list[str]:
        """The `type` of each event on `topic` (ticket events carry one), None for a tombstone."""
        return [getattr(e, "type", None) if e is not None else None for e in self.events(topic)]

    def actions(self) -> list[str]:
        return [a.action for a in self.audits]

    def reset(self) -> None:
        """Forget what set-up emitted and audited, so a test sees only its own action's."""
        self.emitted.clear()
        self.audits.clear()
