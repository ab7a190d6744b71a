"""The AsyncAPI document of tickets.events: a valid AsyncAPI 3.0 document (against the
official JSON Schema, vendored from @asyncapi/specs), complete, with examples that
are real events, and the checked-in file not stale."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from kernel.config import Topics
from schemas import asyncapi, codec
from schemas.events import TICKET_EVENTS

SPEC = Path(__file__).parent / "asyncapi_spec" / "asyncapi-3.0.0.schema.json"


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema_rs.Draft7Validator(json.loads(SPEC.read_text()))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return asyncapi.document()


def test_the_document_is_valid_asyncapi_3(validator: Any, doc: dict[str, Any]) -> None:
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []
    assert doc["asyncapi"] == "3.0.0"


def test_the_validator_does_refuse_a_broken_document(validator: Any, doc: dict[str, Any]) -> None:
    """The check above can fail: an AsyncAPI 2 verb, a channel without messages' refs."""
    broken = copy.deepcopy(doc)
    broken["operations"]["publishTicketEvents"]["action"] = "publish"
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(doc)
    broken["channels"]["ticketEvents"]["messages"]["ticket_opened"] = "TicketOpened"
    assert not validator.is_valid(broken)
    broken = copy.deepcopy(doc)
    del broken["info"]["version"]
    assert not validator.is_valid(broken)


def test_every_event_type_is_a_message_of_the_topic(doc: dict[str, Any]) -> None:
    channel = doc["channels"]["ticketEvents"]
    assert channel["address"] == Topics().ticket_events == "tickets.events"
    kinds = [m.model_fields["type"].default for m in TICKET_EVENTS]
    assert list(channel["messages"]) == kinds
    assert len(set(kinds)) == len(kinds) == 8
    op = doc["operations"]["publishTicketEvents"]
    assert op["action"] == "send" and len(op["messages"]) == len(kinds)
    for model in TICKET_EVENTS:
        message = doc["components"]["messages"][model.__name__]
        assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert message["summary"]


def test_the_envelope_is_required_in_every_payload(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for model in TICKET_EVENTS:
        schema = schemas[model.__name__]
        required = set(schema["required"])
        assert {"event_id", "at", "sequence", "actor", "cause", "type"} <= required, model
        assert schema["properties"]["type"]["const"] == model.model_fields["type"].default
        assert schema["properties"]["sequence"]["minimum"] == 0
        assert schema["additionalProperties"] is False
        if model.__name__ != "IncomingEmailDiscarded":
            assert "ticket_id" in required


def test_examples_are_events_and_match_their_schemas(doc: dict[str, Any]) -> None:
    """Each example decodes as its event type, and validates against its payload schema
    as the document states it (refs resolved inside the document)."""
    for model in TICKET_EVENTS:
        [example] = doc["components"]["messages"][model.__name__]["examples"]
        payload = example["payload"]
        event = codec.loads_ticket_event(json.dumps(payload))
        assert type(event) is model and event.sequence >= 1
        schema = {"$ref": f"#/components/schemas/{model.__name__}"} | {
            "components": doc["components"]
        }
        assert jsonschema_rs.Draft7Validator(schema).is_valid(payload), model
        wrong = payload | {"sequence": -1}
        assert not jsonschema_rs.Draft7Validator(schema).is_valid(wrong), model


def test_a_renamed_topic_is_the_channel_address() -> None:
    doc = asyncapi.document(Topics(ticket_events="acme.tickets.events"))
    assert doc["channels"]["ticketEvents"]["address"] == "acme.tickets.events"
    assert doc["channels"]["ticketEvents"]["bindings"]["kafka"]["topic"] == "acme.tickets.events"


def test_the_checked_in_document_is_current(tmp_path: Path) -> None:
    """What `make test` checks (python -m schemas.codec --check), here too."""
    assert not asyncapi.is_stale(), "schemas/asyncapi.json is stale: run `make schemas`"
    path = tmp_path / "asyncapi.json"
    assert asyncapi.is_stale(path)
    asyncapi.write(path)
    assert not asyncapi.is_stale(path)
    path.write_text(path.read_text().replace('"3.0.0"', '"2.6.0"'))
    assert asyncapi.is_stale(path)
