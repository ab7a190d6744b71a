"""One poll's records, applied in one unit of work.

Per record the effect is what the single-record actions do (idempotent on
the email id); per batch there is one transaction, so one commit (one fsync)
for hundreds of records. Records of a kind are applied together (one query
for those already applied, one INSERT or one flush for the rest) inside a
savepoint; if that fails, the kind is applied again record by record, each
in its own savepoint, so a bad record rolls back alone and becomes a dead
letter in the same transaction. Kinds are independent, so they go in this
order: new tickets, messages for tickets, incoming emails, outcomes,
delivery reports, incident grants.

A transient database error (the server gone, the file locked or read-only)
is not the record's fault: it aborts the whole batch, which the loop retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError

from kernel.config import Topics
from schemas import codec
from schemas.events import (
    AddMessage,
    DeadLetter,
    DeliveryReport,
    IncidentsGranted,
    OpenTicket,
    Outcome,
)
from schemas.events import IncomingEmail as IncomingEmailEvent
from schemas.ticket_requests import TicketDecided
from services.ticket_store.actions import mail_commands, operations, ticket_requests
from services.ticket_store.db import is_transient
from services.ticket_store.domain.errors import NotFound
from services.ticket_store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

T = TypeVar("T")


class Record(Protocol):
    """What the batch needs of a Kafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Permanent(Exception):
    """A record that can never be applied: it goes to the dead-letter topic."""


def _decode(loader: Callable[[bytes], T], value: bytes, what: str) -> T:
    """Bytes to an event; what cannot be read is a permanent failure, not a crash."""
    try:
        return loader(value)
    except ValueError as exc:  # pydantic's ValidationError is one
        detail = exc.errors()[:3] if isinstance(exc, ValidationError) else exc
        raise Permanent(f"invalid {what}: {detail}") from exc


def _reason(exc: Exception) -> str:
    """The database's own message (not SQLAlchemy's, which quotes the statement and the
    mail's text), bounded."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(exc).__name__}: {str(cause).strip()}"[:500]


@dataclass
class BatchReport:
    """What a batch did: records applied (new or repeated) and dead letters written."""

    applied: int = 0
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass
class _Kind:
    """The records of one kind in a batch, decoded, in their order."""

    name: str
    items: list[tuple[Record, Any]] = field(default_factory=list)


def _add_message(uow: UnitOfWork, cmd: AddMessage) -> object:
    try:
        return mail_commands.add_message_from_mail(uow, cmd)
    except NotFound as exc:
        raise Permanent(f"add-message for an unknown ticket: {exc}") from exc


class BatchApplier:
    """Applies a list of records (any topics, any partitions) in one unit of work."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        # topic -> (kind, decoder); ticket commands are two kinds, told apart once decoded
        self.decoders: dict[str, tuple[str, Callable[[bytes], Any]]] = {
            topics.ticket_commands: (
                "ticket_commands",
                partial(_decode, codec.loads_ticket_command, what="ticket command"),
            ),
        }
        for topic, kind, schema, what in (
            (topics.incoming, "incoming", IncomingEmailEvent, "incoming email"),
            (topics.outcomes, "outcomes", Outcome, "outcome"),
            (topics.delivery, "delivery", DeliveryReport, "delivery report"),
            (topics.incidents, "incidents", IncidentsGranted, "incident grant"),
        ):
            self.decoders[topic] = (kind, partial(_decode, partial(codec.loads, schema), what=what))

    @property
    def topic_names(self) -> list[str]:
        return list(self.decoders)

    def apply(self, uow: UnitOfWork, records: Sequence[Record]) -> BatchReport:
        """Apply every record in `uow`; raises only transient errors (and bugs in here)."""
        report = BatchReport()
        names = ("open", "decided", "add", "incoming", "outcomes", "delivery", "incidents")
        kinds = {k: _Kind(k) for k in names}
        for record in records:
            entry = self.decoders.get(record.topic)
            if entry is None or record.value is None:
                continue  # not ours, or a tombstone: nothing to do
            kind, decode = entry
            try:
                event = decode(record.value)
            except Permanent as exc:
                self._dead_letter(uow, report, record, str(exc))
                continue
            if kind == "ticket_commands":
                kind = (
                    "open"
                    if isinstance(event, OpenTicket)
                    else "decided"
                    if isinstance(event, TicketDecided)
                    else "add"
                )
            kinds[kind].items.append((record, event))

        mc = mail_commands
        self._together(
            uow, report, kinds["open"],
            lambda cmds: mc.open_tickets_from_mail(uow, cmds),
            lambda cmd: mc.open_ticket_from_mail(uow, cmd),
        )  # fmt: skip
        self._one_by_one(
            uow, report, kinds["decided"], lambda cmd: ticket_requests.apply_decision(uow, cmd)
        )  # the incident ledger's answers to web/API tickets
        self._one_by_one(uow, report, kinds["add"], lambda cmd: _add_message(uow, cmd))
        self._together(
            uow, report, kinds["incoming"],
            lambda events: mc.record_incoming_many(uow, events),
            lambda event: mc.record_incoming(uow, event),
        )  # fmt: skip
        self._together(
            uow, report, kinds["outcomes"],
            lambda outcomes: mc.record_outcomes(uow, outcomes),
            lambda outcome: mc.record_outcome(uow, outcome),
        )  # fmt: skip
        self._one_by_one(
            uow, report, kinds["delivery"],
            lambda r: mc.record_delivery(uow, r.outbound_id, status=r.status, detail=r.detail),
        )  # fmt: skip
        self._one_by_one(
            uow, report, kinds["incidents"], lambda g: mc.record_external_grant(uow, g)
        )
        return report

    # -------------------------------------------------------------- strategies

    def _together(
        self,
        uow: UnitOfWork,
        report: BatchReport,
        kind: _Kind,
        all_at_once: Callable[[list[Any]], object],
        one: Callable[[Any], object],
    ) -> None:
        """All records of the kind in one savepoint; on any failure, one by one."""
        if not kind.items:
            return
        try:
            with uow.savepoint():
                all_at_once([event for _, event in kind.items])
                uow.flush()
        except Exception as exc:
            if is_transient(exc):
                raise
            log.info("%s: %d records together failed (%s); one by one", kind.name,
                     len(kind.items), type(exc).__name__)  # fmt: skip
            self._one_by_one(uow, report, kind, one)
            return
        report.applied += len(kind.items)

    def _one_by_one(
        self, uow: UnitOfWork, report: BatchReport, kind: _Kind, one: Callable[[Any], object]
    ) -> None:
        for record, event in kind.items:
            try:
                self._in_savepoint(uow, one, event)
            except Permanent as exc:
                self._dead_letter(uow, report, record, str(exc), event)
                continue
            except IntegrityError as exc:  # twice: the record breaks a constraint itself
                self._dead_letter(uow, report, record, _reason(exc), event)
                continue
            except Exception as exc:
                if is_transient(exc):
                    raise
                # A bug must not stall the partition: the record is set aside with the reason.
                log.exception("unexpected failure on %s@%s", record.topic, record.offset)
                self._dead_letter(uow, report, record, _reason(exc), event)
                continue
            report.applied += 1

    @staticmethod
    def _in_savepoint(uow: UnitOfWork, one: Callable[[Any], object], event: object) -> None:
        """Apply one record in a savepoint. A constraint violation is tried once more: if
        another store instance applied the same email meanwhile, the second try finds it
        and changes nothing; if it fails again, the record itself breaks a constraint."""
        try:
            with uow.savepoint():
                one(event)
                uow.flush()
        except IntegrityError:
            log.info("constraint violated; trying once more in case it was a duplicate")
            with uow.savepoint():
                one(event)
                uow.flush()

    def _dead_letter(
        self,
        uow: UnitOfWork,
        report: BatchReport,
        record: Record,
        reason: str,
        event: object = None,
    ) -> None:
        """mail.dead is keyed by email id: the event's when it could be read, else the key."""
        key = getattr(event, "email_id", None) or (record.key or b"").decode(errors="replace")
        log.warning("dead letter from %s@%s: %s", record.topic, record.offset, reason)
        gateway = str(getattr(event, "gateway_id", "") or "")
        letter = DeadLetter(
            email_id=key, gateway_id=gateway, stage=f"store:{record.topic}", reason=reason
        )
        uow.emit(self.topics.dead, key, letter)
        # Kept with the record itself, so an administrator can reprocess it after a fix.
        operations.record_dead_letter(
            uow, letter, source_topic=record.topic,
            source_key=(record.key or b"").decode(errors="replace"), payload=record.value,
        )  # fmt: skip
        report.dead.append(letter)
