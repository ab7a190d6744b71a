"""kill -9 between publish and mark on 1,000 mails, through the whole pipeline:
afterwards the store holds exactly one ticket per mail (fetcher, router, store)."""

from __future__ import annotations

import signal

from sqlalchemy import func, select

from kernel.crypto import encrypt
from services.fetcher.directory import read_gateways
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import MailOutcome, Ticket
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.pipeline import Pipeline
from tests.integration.fetcher.conftest import mail, read_raw, wait_for

MAILS = 1000


def test_kill9_on_1000_mails_gives_one_ticket_per_mail(
    pipeline: Pipeline, dovecot: DovecotServer
) -> None:
    settings = pipeline.settings.model_copy(update={"ca_file": str(dovecot.ca_path)})
    pipeline.settings = settings
    pipeline.env.update(
        SUPPORTDESK_CA_FILE=str(dovecot.ca_path),
        SUPPORTDESK_FETCHER_SESSION_TIMEOUT_MS="6000",
        SUPPORTDESK_FETCHER_HEARTBEAT_INTERVAL_MS="1000",
    )
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Client", ["client@example.org"])
        gw = actions.gateways.add_gateway(
            uow,
            name="support",
            type="external",
            protocol="imap",
            host="127.0.0.1",
            port=dovecot.imaps_port,
            security="tls",
            verify_tls=True,
            username=DEFAULT_USER,
            password_encrypted=encrypt(settings, DEFAULT_PASSWORD),
            address="support@company.net",
            department_id=dep.id,
            poll_interval_s=10,
        )
        gateway_id = gw.id
    pipeline.start("store")
    pipeline.start("router")
    wait_for(
        lambda: gateway_id in read_gateways(settings.kafka_bootstrap, settings.topics.gateways),
        60,
        "the gateway on directory.gateways",
    )
    # The router's read barrier covers the directory published before the mail.

    def client_mail(i: int) -> bytes:
        return mail(i, tag="k9s-").replace(
            f"From: client{i}@example.org".encode(), b"From: client@example.org", 1
        )

    dovecot.deliver_many(DEFAULT_USER, (client_mail(i) for i in range(MAILS)))
    pipeline.env["SUPPORTDESK_FETCHER_FAULT"] = "kill-after-commit:2"
    pipeline.env["SUPPORTDESK_FETCHER_FIRST_BATCH_MAILS"] = "200"  # two commits = 400 mails
    first = pipeline.start("fetcher", name="fetcher-killed")
    first.wait(120)
    assert first.returncode == -signal.SIGKILL, pipeline.log("fetcher-killed")
    del pipeline.env["SUPPORTDESK_FETCHER_FAULT"]
    pipeline.procs.pop("fetcher-killed")  # dead on purpose: not a service failure
    assert sum("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values()) == 200

    pipeline.start("fetcher")
    wait_for(
        lambda: all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values()),
        90,
        "every mail marked read",
    )
    everything = read_raw(settings, committed=False)
    assert len(everything) == len({r.email_id for r in everything}) == MAILS

    def tickets() -> int:
        with db.transaction() as s:
            return s.scalar(select(func.count()).select_from(Ticket)) or 0

    wait_for(lambda: tickets() >= MAILS, 110, f"{MAILS} tickets", step=1.0)
    pipeline.assert_running()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == MAILS
        distinct = s.scalar(select(func.count(func.distinct(Ticket.source_email_id))))
        assert distinct == MAILS
        wait_for(
            lambda: (s.scalar(select(func.count()).select_from(MailOutcome)) or 0) >= MAILS,
            60,
            "an outcome per mail",
        )
    db.dispose()
