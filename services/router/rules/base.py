"""The one interface every rule implements, and what rules share.

A rule is a module with ``NAME`` and ``check(mail, ctx) -> Verdict | None``:
it either decides (returns a Verdict, and later rules do not run) or passes
(returns None, possibly after noting something on the context, such as the
automatic flag). Adding a rule is adding a module to `services.router.pipeline.RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

from schemas.events import ClientEntry, Decision, DepartmentEntry, RawEmail
from services.router.mail import ParsedMail


class Directory(Protocol):
    """Read side of the directory topics and tickets.events (see services.router.directory)."""

    def client_for(self, address: str) -> ClientEntry | None: ...

    def department(self, department_id: int) -> DepartmentEntry | None: ...

    def ticket_client(self, ticket_id: str) -> int | None: ...

    def ticket_for_message(self, message_id: str) -> str | None: ...

    def ticket_cc(self, ticket_id: str) -> frozenset[str]: ...


class Action(StrEnum):
    """What the decision makes happen, besides the Outcome record."""

    NONE = "none"
    OPEN_TICKET = "open_ticket"  # goes through the incidents rule (ledger) first
    ADD_MESSAGE = "add_message"
    INCOMING = "incoming"
    DEAD = "dead"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    rule: str
    reason: str = ""
    action: Action = Action.NONE
    ticket_id: str | None = None
    client_id: int | None = None
    # ADD_MESSAGE: "cc" when a Cc'd address, not the ticket's client, wrote it.
    author: Literal["client", "cc"] = "client"


@dataclass
class Context:
    """Everything a rule may read besides the mail; rules may annotate it."""

    raw: RawEmail
    directory: Directory
    ticket_key: bytes
    automatic: bool = False
    automatic_reasons: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def client(self, mail: ParsedMail) -> ClientEntry | None:
        return self.directory.client_for(mail.from_address) if mail.from_address else None


class Rule(Protocol):
    NAME: str

    def check(self, mail: ParsedMail, ctx: Context) -> Verdict | None: ...
