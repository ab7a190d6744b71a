"""Starting the chaos run's parts and its data: broker, PostgreSQL, Dovecot, SMTP sink,
two gateways (a free and a per-incident department), the clients, tickets to reply to."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from bench.chaos.mails import CLIENT, PAID, PAYER, SUPPORT
from bench.chaos.parts import DurablePostgres, Instance, SmtpCapture
from devtools.dovecot import DovecotServer
from devtools.net import free_port
from devtools.pipeline import isolated_settings, settings_env
from kernel.config import Settings
from kernel.crypto import encrypt
from kernel.topics import ensure_topics
from schemas.ticket_tag import format_tag
from services.ticket_store import actions, metrics
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import Ticket
from supportdesk.broker import LocalBroker

PASSWORD = "chaos-secret"
SERVICES = ("store", "router", "fetcher", "mailer")  # the order they start in


@dataclass
class Parts:
    work: Path
    broker: LocalBroker
    postgres: DurablePostgres
    dovecot: DovecotServer
    smtp: SmtpCapture
    settings: Settings | None = None
    env: dict[str, str] = field(default_factory=dict)
    gateways: dict[str, str] = field(default_factory=dict)  # mailbox -> gateway id
    reply_tags: list[str] = field(default_factory=list)
    payer_id: int = 0
    granted: int = 0
    instances: list[Instance] = field(default_factory=list)

    def database(self) -> Database:
        assert self.settings is not None
        return Database(self.settings.database_url, topics=self.settings.topics)

    def close(self) -> None:
        for inst in self.instances:
            with contextlib.suppress(Exception):
                inst.stop(timeout=10)
        for stop in (self.smtp.stop, self.dovecot.cleanup, self.broker.stop, self.postgres.stop):
            with contextlib.suppress(Exception):
                stop()


def start_parts(work: Path) -> Parts:
    """Broker, PostgreSQL (synchronous_commit=on), Dovecot with both mailboxes, SMTP sink."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = free_port()
    broker = LocalBroker(work / "kafka", port=port, controller_port=controller)
    postgres = DurablePostgres()
    dovecot = DovecotServer()
    smtp = SmtpCapture()
    parts = Parts(work, broker, postgres, dovecot, smtp)
    try:
        broker.start()
        postgres.start()
        for user in (SUPPORT, PAID):
            dovecot.add_user(user, PASSWORD)
        dovecot.start()
        smtp.start()
        broker.wait_ready(180)
    except BaseException:
        parts.close()
        raise
    return parts


def prepare(parts: Parts, *, notice_addresses: list[str], charges: int, spare: int = 5) -> None:
    """Topics, schema and the run's data; the payer gets `charges + spare` incidents."""
    settings = isolated_settings(
        parts.broker.bootstrap, parts.postgres.url, parts.work, "chaos-", 4,
        ca_file=str(parts.dovecot.ca_path), smtp_host=parts.smtp.host, smtp_port=parts.smtp.port,
    )  # fmt: skip
    parts.settings = settings
    parts.env = settings_env(settings)
    ensure_topics(parts.broker.bootstrap, settings)
    upgrade(settings.database_url)
    db = parts.database()
    try:
        with db.unit_of_work() as uow:
            free = actions.departments.add_department(uow, "Support", show_in_support_center=True)
            paid = actions.departments.add_department(
                uow, "Paid support", show_in_support_center=True, per_incident=True
            )
            client = actions.clients.add_client(uow, "Client", [CLIENT])
            payer = actions.clients.add_client(uow, "Payer", [PAYER])
            actions.clients.add_client(uow, "Broke", notice_addresses)
            parts.payer_id, parts.granted = payer.id, charges + spare
            actions.clients.grant_incidents(uow, payer.id, parts.granted, grant_id="chaos-grant")
            for i in range(3):
                ticket = actions.ticket_requests.open_ticket_by_client(
                    uow, client, free.id, f"earlier question {i}", "please help"
                )
                assert isinstance(ticket, Ticket)  # a free department opens it at once
                parts.reply_tags.append(format_tag(ticket.id))
            for mailbox, dep in ((SUPPORT, free), (PAID, paid)):
                gw = actions.gateways.add_gateway(
                    uow, name=mailbox.split("@")[0], type="external", protocol="imap",
                    host="127.0.0.1", port=parts.dovecot.imaps_port, security="tls",
                    verify_tls=True, username=mailbox,
                    password_encrypted=encrypt(settings, PASSWORD), address=mailbox,
                    department_id=dep.id, poll_interval_s=10,
                )  # fmt: skip
                parts.gateways[mailbox] = gw.id
    finally:
        db.dispose()
    for service in SERVICES:
        for index in (1, 2):
            parts.instances.append(Instance(service, index, parts.work))


def outbox_backlog(parts: Parts) -> int:
    db = parts.database()
    try:
        return metrics.outbox_backlog(db)
    finally:
        db.dispose()
