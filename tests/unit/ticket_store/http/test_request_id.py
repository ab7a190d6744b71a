"""Every HTTP request has an id (the caller's sane X-Request-ID, else a new one), echoed
in the response and handed to the unit of work as the cause of its ticket events;
/asyncapi.json serves the contract of tickets.events."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from kernel.config import Settings, Topics
from schemas import asyncapi
from services.ticket_store.db import Database
from services.ticket_store.http.app import create_app
from services.ticket_store.http.deps import unit_of_work
from services.ticket_store.http.request_id import RequestId, request_id_of
from services.ticket_store.unit_of_work import UnitOfWork


def test_a_sane_id_is_kept_anything_else_replaced() -> None:
    assert request_id_of("req-42.a:b_C") == "req-42.a:b_C"
    for hostile in ("", None, "a b", "x" * 65, "id\r\nX-Evil: 1", "é"):
        fresh = request_id_of(hostile)
        assert fresh != hostile and len(fresh) == 32 and fresh.isalnum()
    assert request_id_of(None) != request_id_of(None)


def _app(tmp_path: Path) -> FastAPI:
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/s.sqlite")
    return create_app(settings, Database(settings.database_url, settings.topics))


def test_the_id_is_echoed_and_becomes_the_cause(tmp_path: Path) -> None:
    app = _app(tmp_path)

    @app.get("/_cause")
    def cause(uow: UnitOfWork = Depends(unit_of_work)) -> dict[str, str]:  # noqa: B008
        return {"cause": uow.cause}

    with TestClient(app) as client:
        sent = client.get("/_cause", headers={"X-Request-ID": "abc-123"})
        assert sent.headers["x-request-id"] == "abc-123"
        assert sent.json() == {"cause": "request:abc-123"}
        fresh = client.get("/_cause", headers={"X-Request-ID": "bad id"})
        rid = fresh.headers["x-request-id"]
        assert rid != "bad id" and fresh.json() == {"cause": f"request:{rid}"}
        # Every response carries one, pages and refusals included.
        assert client.get("/healthz").headers["x-request-id"]
        assert client.get("/nowhere").headers["x-request-id"]


def test_a_single_header_even_when_the_app_set_one() -> None:
    inner = FastAPI()

    @inner.get("/")
    def root() -> dict[str, str]:
        return {}

    inner.add_middleware(RequestId)
    with TestClient(inner) as client:
        response = client.get("/", headers={"X-Request-ID": "r1"})
        assert response.headers.get_list("x-request-id") == ["r1"]


def test_asyncapi_json_is_served_with_the_installations_topic(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        response = client.get("/asyncapi.json")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == asyncapi.document()
    settings = Settings(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/s.sqlite",
        topics=Topics(ticket_events="acme.tickets.events"),
    )
    with TestClient(create_app(settings, Database(settings.database_url))) as client:
        doc = client.get("/asyncapi.json").json()
        assert doc["channels"]["ticketEvents"]["address"] == "acme.tickets.events"
        assert "/asyncapi.json" not in client.get("/openapi.json").json()["paths"]
