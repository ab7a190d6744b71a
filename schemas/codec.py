"""JSON (de)serialisation of events: the one place bytes become models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter

from schemas.events import ALL_EVENTS, TicketCommand, TicketEvent

M = TypeVar("M", bound=BaseModel)

_ticket_command = TypeAdapter(TicketCommand)
_ticket_event = TypeAdapter(TicketEvent)


def dumps(event: BaseModel) -> bytes:
    return event.model_dump_json().encode()


def loads(model: type[M], data: bytes | str) -> M:
    return model.model_validate_json(data)


def loads_ticket_command(data: bytes | str):  # -> OpenTicket | AddMessage | TicketDecided
    return _ticket_command.validate_json(data)


def loads_ticket_event(data: bytes | str):  # -> TicketOpened | MessageAdded | ...
    return _ticket_event.validate_json(data)


SCHEMA_DIR = Path(__file__).parent / "jsonschema"


def json_schemas() -> dict[str, str]:
    """File name -> JSON Schema text, for every event model."""
    out: dict[str, str] = {}
    for model in ALL_EVENTS:
        schema = model.model_json_schema()
        out[f"{model.__name__}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write_json_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schemas().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale_json_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that differ from the models (or are missing)."""
    stale = []
    for name, text in json_schemas().items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
    return stale


if __name__ == "__main__":
    import sys

    from schemas import asyncapi  # the AsyncAPI document of tickets.events, kept alike

    if "--check" in sys.argv:
        stale = stale_json_schemas() + (["../asyncapi.json"] if asyncapi.is_stale() else [])
        if stale:
            sys.exit(f"JSON Schema files are stale: {stale}; run `make schemas`")
        print("JSON Schema files and asyncapi.json are up to date")
    else:
        for p in [*write_json_schemas(), asyncapi.write()]:
            print(p)
