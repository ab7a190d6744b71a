"""Every service's /metrics and /health on real processes (issue 11, item 5).

One client mail through real Dovecot, fetcher, router and store: the router counts the
decision, the store the records it applied, and both report their consumer lag.
"""

from __future__ import annotations

import re
import urllib.request
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from devtools.net import free_port
from kernel.crypto import encrypt
from kernel.directory import read_gateways
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import Ticket
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.pipeline import Pipeline, wait_until


@pytest.fixture
def pipeline_database_url(postgres_database_url: str) -> str:
    return postgres_database_url


def scrape(port: int, path: str = "/metrics") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return resp.read().decode()


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name{labels…}` in a Prometheus text page (labels in any order)."""
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:{{(.*)}})? (\S+)$", line)
        if not m:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(2))
    return None


def test_router_and_store_metrics_after_one_mail(
    pipeline: Pipeline, dovecot: DovecotServer
) -> None:
    settings = pipeline.settings.model_copy(update={"ca_file": str(dovecot.ca_path)})
    pipeline.settings = settings
    pipeline.env["SUPPORTDESK_CA_FILE"] = str(dovecot.ca_path)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        gw = actions.gateways.add_gateway(
            uow, name="support", type="external", protocol="imap", host="127.0.0.1",
            port=dovecot.imaps_port, security="tls", verify_tls=True, username=DEFAULT_USER,
            password_encrypted=encrypt(settings, DEFAULT_PASSWORD),
            address="support@company.net", department_id=dep.id, poll_interval_s=10,
        )  # fmt: skip
        gateway_id = gw.id
    ports = {"store": free_port(), "router": free_port()}
    for name, port in ports.items():
        pipeline.env["SUPPORTDESK_HEALTH_PORT"] = str(port)
        pipeline.start(name)
    wait_until(
        lambda: gateway_id in read_gateways(settings.kafka_bootstrap, settings.topics.gateways),
        60, "the gateway on directory.gateways",
    )  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.org", "support@company.net", "Down"
    msg["Message-ID"] = "<metrics-1@example.org>"
    msg.set_content("My VPS does not boot.")
    dovecot.save(DEFAULT_USER, bytes(msg))
    assert pipeline.run("fetcher", "--once").returncode == 0

    def tickets() -> list[Ticket]:
        with db.transaction() as s:
            return list(s.scalars(select(Ticket)))

    wait_until(tickets, 90, "the ticket")
    router = wait_until(
        lambda: (t := scrape(ports["router"]))
        and value(t, "supportdesk_router_decisions_total", decision="ticket_opened")
        and value(t, "supportdesk_consumer_lag", group=settings.router_app_id) is not None
        and t,
        30, "the router's decision and lag on /metrics",
    )  # fmt: skip
    assert value(router, "supportdesk_router_decisions_total", decision="ticket_opened") == 1
    assert (value(router, "supportdesk_router_batch_seconds_count") or 0) >= 1
    assert (value(router, "supportdesk_router_mail_seconds_count") or 0) >= 1
    assert value(router, "supportdesk_service_state", supportdesk_service_state="running") == 1
    # The mail was routed and committed. Lag counts offsets: on mail.raw, which the
    # fetcher writes in transactions, the commit marker after the last mail counts 1.
    lags = [
        value(router, "supportdesk_consumer_lag", group=settings.router_app_id,
              topic=settings.topics.raw, partition=str(p))
        for p in range(settings.topic_partitions)
    ]  # fmt: skip
    assert [lag for lag in lags if lag is not None] and all(lag <= 1 for lag in lags if lag)

    store = wait_until(
        lambda: (t := scrape(ports["store"]))
        and (value(t, "supportdesk_store_records_total", result="applied") or 0) >= 1
        and value(t, "supportdesk_consumer_lag", group=settings.store_group_id) is not None
        and t,
        30, "the store's records and lag on /metrics",
    )  # fmt: skip
    assert value(store, "supportdesk_store_records_total", result="dead") == 0
    assert value(store, "supportdesk_consumer_lag", group=settings.store_group_id,
                 topic=settings.topics.outcomes) == 0  # fmt: skip
    assert (value(store, "supportdesk_store_batch_seconds_count") or 0) >= 1
    assert value(store, "supportdesk_store_outbox_backlog") is not None
    assert (value(store, "supportdesk_store_outbox_published_total") or 0) >= 1
    assert '"state": "running"' in scrape(ports["store"], "/health")
    pipeline.assert_running()
    db.dispose()
