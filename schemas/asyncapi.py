"""The AsyncAPI 3.0 document of tickets.events, generated from the event models.

It is the contract a downstream consumer codes against: the topic, its record
key, every event type's payload schema and an example of each. `make schemas`
writes it to schemas/asyncapi.json; `make test` fails when that file is stale;
the store serves it at /asyncapi.json. The payload schemas are pydantic's
serialization schemas, so every field the store always writes is required.

    python -m schemas.asyncapi           # write schemas/asyncapi.json
    python -m schemas.asyncapi --check   # exit 1 when it is stale
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from kernel.config import Settings, Topics
from schemas.ticket_events import (
    TICKET_EVENTS,
    DeliveryResult,
    IncomingEmailAttached,
    IncomingEmailConverted,
    IncomingEmailDiscarded,
    LifecycleEnvelope,
    MessageAdded,
    TicketAssigned,
    TicketOpened,
    TicketStatusChanged,
)

PATH = Path(__file__).parent / "asyncapi.json"
# The Kafka bindings' version (AsyncAPI bindings repository, kafka/README.md).
KAFKA_BINDING = "0.5.0"
CHANNEL = "ticketEvents"

DESCRIPTION = """\
Every change in a ticket's life, published by the Supportdesk ticket store on one
Kafka topic after the change is committed (an outbox relay: at least once, so a
consumer may see a record twice).

* **Record key**: the ticket id (ten base32 characters, the tag `[#K7QF3MZXWD]`
  in mail subjects). Records of one ticket are in one partition, in order. An incoming
  email that staff discarded has no ticket: its key is `incoming:<email id>`.
* **`type`** tells the event apart; unknown types are for a consumer to skip.
* **`sequence`** counts the events of one key from 1, without gaps, in the order
  the store committed them: keep the last one seen per ticket and drop any event
  at or below it (a redelivery).
* **`actor`**: `staff:<id>`, `client:<id>`, `mail` (the mail pipeline), `cli`
  or `system`. **`cause`**: `email:<email id>`, `request:<X-Request-ID>`,
  `outbound:<outbound id>`, or empty.
* **`schema_version`** changes only when a field changes meaning; new optional
  fields and new event types come without it.

How to subscribe with kafka-python: docs/consuming-events.md in the repository.
"""

_TICKET = "K7QF3MZXWD"
_AT = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def _at(minute: int) -> datetime:
    return _AT.replace(minute=_AT.minute + minute)


def examples() -> dict[type[LifecycleEnvelope], LifecycleEnvelope]:
    """One event of each type: a ticket's life, from the mail that opened it on."""
    common = {"ticket_id": _TICKET}
    mail = {"actor": "mail", "cause": "email:3f1c9a0b5e7d4c2a8b6f0e1d2c3b4a59"}
    staff = {"actor": "staff:4", "cause": "request:9b2e7c41d0a84f6e"}
    return {
        TicketOpened: TicketOpened(
            event_id="5b0c6f8e2d1a4e7b9c3f0a1d2e3b4c5d", at=_at(0), sequence=1, **mail,
            number=1042, department_id=2, client_id=17, subject="VPS does not boot",
            source_email_id="3f1c9a0b5e7d4c2a8b6f0e1d2c3b4a59", **common,
        ),
        MessageAdded: MessageAdded(
            event_id="6c1d7f9e3e2b4f8c0d4a1b2e3f4c5d6e", at=_at(0), sequence=2, **mail,
            message_id=5120, direction="in", source_email_id="3f1c9a0b5e7d4c2a8b6f0e1d2c3b4a59",
            email_message_id="CAF=x1@mail.example.org", client_id=17, **common,
        ),
        TicketAssigned: TicketAssigned(
            event_id="7d2e8a0f4f3c4a9d1e5b2c3f4a5d6e7f", at=_at(5), sequence=3, **staff,
            staff_id=4, previous_staff_id=None, **common,
        ),
        TicketStatusChanged: TicketStatusChanged(
            event_id="8e3f9b1a5a4d4b0e2f6c3d4a5b6e7f80", at=_at(5), sequence=4, **staff,
            old_status="new", new_status="in_progress", **common,
        ),
        DeliveryResult: DeliveryResult(
            event_id="9f4a0c2b6b5e4c1f3a7d4e5b6c7f8091", at=_at(9), sequence=7,
            actor="mail", cause="outbound:0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5",
            message_id=5121, outbound_id="0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5", status="sent",
            **common,
        ),
        IncomingEmailConverted: IncomingEmailConverted(
            event_id="a05b1d3c7c6f4d20b4b8e5f6c7d8091a", at=_at(10), sequence=3, **staff,
            ticket_id="M2PX6RT4QW", email_id="4a2d0b1c6f8e5d3b9c7a1f2e3d4c5b6a",
            incoming_email_id=88, client_id=31, new_client=True,
        ),
        IncomingEmailAttached: IncomingEmailAttached(
            event_id="b16c2e4d8d7a4e31c5c9f6a7d8e9a1b2", at=_at(12), sequence=9, **staff,
            email_id="5b3e1c2d7a9f6e4c0d8b2a3f4e5d6c7b", incoming_email_id=89, message_id=5130,
            **common,
        ),
        IncomingEmailDiscarded: IncomingEmailDiscarded(
            event_id="c27d3f5e9e8b4f42d6d0a7b8e9f0b2c3", at=_at(14), sequence=1, **staff,
            email_id="6c4f2d3e8b0a7f5d1e9c3b4a5f6e7d8c", incoming_email_id=90, department_id=2,
            status="spam",
        ),
    }  # fmt: skip


def _key_of(event: LifecycleEnvelope) -> str:
    if isinstance(event, IncomingEmailDiscarded):
        return f"incoming:{event.email_id}"
    return event.ticket_id  # type: ignore[attr-defined]


def _summary(model: type[LifecycleEnvelope]) -> str:
    if model.__doc__:  # not inherited: a class's own docstring or None
        return " ".join(model.__doc__.split())
    return {
        TicketOpened: "A ticket was opened: by mail, by a client in the web, or by staff "
        "from an incoming email.",
        MessageAdded: "A message joined the ticket: in (from the client), out (a staff "
        "reply, also sent by mail) or note (internal, staff only).",
        TicketStatusChanged: "The ticket moved from one status to another.",
        TicketAssigned: "The ticket was assigned to a staff member.",
    }.get(model, model.__name__)


def _message(model: type[LifecycleEnvelope], example: LifecycleEnvelope) -> dict[str, Any]:
    name = model.__name__
    kind = model.model_fields["type"].default
    key_doc = (
        "`incoming:<email id>` (an incoming email that became no ticket)"
        if model is IncomingEmailDiscarded
        else "The ticket id."
    )
    return {
        "name": kind,
        "title": name,
        "summary": _summary(model),
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": key_doc, "examples": [_key_of(example)]},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "examples": [
            {
                "name": kind,
                "summary": f"{name} with key {_key_of(example)}",
                "payload": example.model_dump(mode="json"),
            }
        ],
    }


def _schemas() -> dict[str, Any]:
    """Payload schemas (serialization mode: what the store writes), refs into components."""
    _, top = models_json_schema(
        [(m, "serialization") for m in TICKET_EVENTS],
        ref_template="#/components/schemas/{model}",
    )
    return dict(sorted(top.get("$defs", {}).items()))


def document(topics: Topics | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for the given topic names (the defaults when None)."""
    topic = (topics or Topics()).ticket_events
    server = Settings.model_fields["kafka_bootstrap"].default
    samples = examples()
    messages = {
        m.model_fields["type"].default: {"$ref": f"#/components/messages/{m.__name__}"}
        for m in TICKET_EVENTS
    }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:supportdesk:ticket-events",
        "info": {
            "title": "Supportdesk ticket events",
            "version": "1",
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The installation's Kafka broker (SUPPORTDESK_KAFKA_BOOTSTRAP).",
                "variables": {"bootstrap": {"default": server}},
            }
        },
        "channels": {
            CHANNEL: {
                "address": topic,
                "title": "Ticket lifecycle events",
                "description": "Keyed by ticket id; kept long (retention of the long topics).",
                "servers": [{"$ref": "#/servers/broker"}],
                "messages": messages,
                "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}},
            }
        },
        "operations": {
            "publishTicketEvents": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "title": "The ticket store publishes every lifecycle change",
                "summary": "Consumers subscribe to the topic with a consumer group of their own.",
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{k}"} for k in messages],
            }
        },
        "components": {
            "messages": {m.__name__: _message(m, samples[m]) for m in TICKET_EVENTS},
            "schemas": _schemas(),
        },
    }


def render(doc: dict[str, Any] | None = None) -> str:
    return json.dumps(document() if doc is None else doc, indent=2) + "\n"


def is_stale(path: Path = PATH) -> bool:
    return not path.exists() or path.read_text() != render()


def write(path: Path = PATH) -> Path:
    path.write_text(render())
    return path


if __name__ == "__main__":
    if "--check" in sys.argv:
        if is_stale():
            sys.exit(f"{PATH.name} is stale; run `make schemas`")
        print(f"{PATH.name} is up to date")
    else:
        print(write())
