"""Services started while the broker or the database is down wait, say so, and start
working when the part comes back (issue 12, item 2), instead of exiting."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from devtools.net import free_port
from devtools.pipeline import Pipeline, isolated_settings, settings_env, wait_until
from devtools.postgres import PostgresCluster, create_database, wait_connectable
from kernel.topics import ensure_topics
from services.ticket_store.db import upgrade
from supportdesk.broker import LocalBroker
from tests.fixtures.parts import starting

SERVICES = ("store", "router", "fetcher", "mailer")

# Its own broker, and a bound on how soon the services work again: alone on the machine.
pytestmark = pytest.mark.serial


def health(port: int) -> tuple[int, dict[str, object]]:
    """(HTTP status, body) of a service's /health; (0, {}) while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    except OSError:
        return 0, {}


def start_services(
    settings_env_: dict[str, str], work: Path, names: tuple[str, ...]
) -> dict[str, tuple[Pipeline, int]]:
    started: dict[str, tuple[Pipeline, int]] = {}
    for name in names:
        port = free_port()
        env = {**settings_env_, "SUPPORTDESK_HEALTH_PORT": str(port)}
        pipeline = Pipeline(settings=None, env=env, workdir=work)  # type: ignore[arg-type]
        pipeline.start(name)
        started[name] = (pipeline, port)
    return started


def stop_services(started: dict[str, tuple[Pipeline, int]]) -> None:
    for name, (pipeline, _) in started.items():
        pipeline.stop(name)


def test_services_wait_for_the_broker_and_start_when_it_comes_back(tmp_path: Path) -> None:
    port = free_port()
    controller = free_port()
    db_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    settings = isolated_settings(f"127.0.0.1:{port}", db_url, tmp_path, "wait-", 2)
    upgrade(db_url)
    started = start_services(settings_env(settings), tmp_path, SERVICES)
    broker = LocalBroker(tmp_path / "kafka", port=port, controller_port=controller)
    try:
        for name, (_, hport) in started.items():
            wait_until(
                lambda hport=hport: health(hport)[1].get("state") == "waiting for broker",
                60, f"{name} to report waiting for the broker",
            )  # fmt: skip
        time.sleep(3)  # several retries while the broker stays down
        for name, (pipeline, hport) in started.items():
            pipeline.assert_running()
            status, body = health(hport)
            assert status == 503 and body["state"] == "waiting for broker", (name, body)
            assert "broker" in body["waiting"]  # type: ignore[operator]

        with starting("Kafka"):
            broker.format()
            broker.start()
            broker.wait_ready(120)
        back = time.monotonic()
        ensure_topics(broker.bootstrap, settings)
        for name, (_, hport) in started.items():
            wait_until(
                lambda hport=hport: health(hport) == (200, {"state": "running", "waiting": {}}),
                30, f"{name} to start working after the broker came back",
            )  # fmt: skip
        took = time.monotonic() - back
        print(f"all four services working {took:.1f}s after the broker was ready")
        assert took <= 15, f"services took {took:.1f}s after the broker's return"
        time.sleep(2)
        for name, (pipeline, _) in started.items():
            pipeline.assert_running()
            log = (tmp_path / f"{name}.log").read_text(errors="replace")
            assert log.count("ECONNREFUSED") <= 3, (name, log[-3000:])
            # One line when waiting starts, one when the broker is back: no flood.
            assert log.count("waiting for broker at") == 1, (name, log)
            assert log.count("is back after") == 1, (name, log)
    finally:
        stop_services(started)
        broker.stop()


@pytest.fixture
def stopped_postgres() -> Iterator[tuple[PostgresCluster, str]]:
    """A migrated database on a PostgreSQL of this test's own, whose server is down."""
    with starting("PostgreSQL"):
        cluster = PostgresCluster()
        cluster.start()
        wait_connectable(cluster.url)
    url = create_database(cluster.url, "waiting")
    upgrade(url)
    cluster.stop_server()
    yield cluster, url
    cluster.stop()


def test_store_waits_for_the_database(
    tmp_path: Path, kafka_bootstrap: str, stopped_postgres: tuple[PostgresCluster, str]
) -> None:
    cluster, url = stopped_postgres
    settings = isolated_settings(kafka_bootstrap, url, tmp_path, "waitdb-", 2)
    ensure_topics(kafka_bootstrap, settings)
    started = start_services(settings_env(settings), tmp_path, ("store",))
    pipeline, hport = started["store"]
    try:
        wait_until(
            lambda: health(hport)[1].get("state") == "waiting for database", 60,
            "the store to report waiting for the database",
        )  # fmt: skip
        assert health(hport)[0] == 503
        body = health(hport)[1]
        assert "password" not in json.dumps(body).lower()
        time.sleep(2)
        pipeline.assert_running()
        cluster.start_server()
        wait_until(lambda: health(hport) == (200, {"state": "running", "waiting": {}}), 30,
                   "the store to start after the database came back")  # fmt: skip
        log = (tmp_path / "store.log").read_text(errors="replace")
        assert log.count("waiting for database at") == 1, log
        password = make_url(url).password
        assert not password or str(password) not in log
    finally:
        stop_services(started)
