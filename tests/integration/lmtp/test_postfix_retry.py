"""Postfix delivers to the LMTP gateway through transport_maps; the broker is stopped in the
middle. Postfix must keep the mails queued and retry, and each mail ends as exactly one
ticket once the broker is back. Then one delivery is repeated byte for byte (an MTA that
never saw the 250): the same email id, no second ticket. Last, a large mail goes through
the claim check.

Real parts: a broker of its own (stopping it disturbs no other test), Debian's Postfix,
and the `supportdesk lmtp`, `router` and `store` processes on SQLite.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devtools.mail import read_raw
from devtools.postfix import PostfixServer
from kernel.directory import read_gateways
from kernel.topics import ensure_topics
from schemas.events import RawEmail
from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import MailOutcome, OutboxEvent, Ticket
from supportdesk.broker import LocalBroker, free_port
from tests.fixtures.parts import starting
from tests.fixtures.pipeline import Pipeline, isolated_settings, settings_env, wait_until

GATEWAY = "support@company.net"
CLIENT = "alice@example.org"


def _bytes(raw: RawEmail) -> bytes:
    return raw.inline_bytes() or b""


def _mail(n: int, body_bytes: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Alice <{CLIENT}>"
    msg["To"] = GATEWAY
    msg["Subject"] = f"Server {n} is down"
    msg["Message-ID"] = f"<lmtp-retry-{n}-{time.time_ns()}@example.org>"
    text = f"Server {n} does not answer since this morning.\n"
    msg.set_content(text + "The log says: timeout.\n" * (body_bytes // 23))
    return bytes(msg)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    broker = LocalBroker(tmp_path / "kafka", port=port, controller_port=controller)
    with starting("Kafka (own broker)"):
        broker.start()
        broker.wait_ready(120)
    yield broker
    broker.stop(timeout=3)  # thrown away: no need to wait for a controlled shutdown


def test_postfix_retries_through_a_broker_outage_then_one_ticket_per_mail(
    own_broker: LocalBroker,
    postfix_factory: Callable[..., PostfixServer],
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'supportdesk.db'}"
    settings = isolated_settings(own_broker.bootstrap, database_url, tmp_path, "lmtp-", 1)
    ensure_topics(own_broker.bootstrap, settings)
    upgrade(database_url)
    lmtp_port = free_port()
    env = settings_env(settings) | {
        "SUPPORTDESK_LMTP_PORT": str(lmtp_port),
        "SUPPORTDESK_LMTP_ACK_TIMEOUT_S": "3",
    }
    pipe = Pipeline(settings=settings, env=env, workdir=tmp_path)
    db = Database(database_url, topics=settings.topics)
    try:
        with db.unit_of_work() as uow:
            dep = actions.departments.add_department(uow, "Technical support")
            actions.clients.add_client(uow, "Alice", [CLIENT])
            gw = actions.gateways.add_gateway(
                uow,
                name="support",
                type="local",
                protocol="lmtp",
                address=GATEWAY,
                department_id=dep.id,
            )
            gateway_id = gw.id
        for name in ("store", "router", "lmtp"):
            pipe.start(name)

        def pending() -> int:
            with db.transaction() as s:
                query = select(func.count()).where(OutboxEvent.published_at.is_(None))
                return s.scalar(query) or 0

        postfix = postfix_factory([GATEWAY], lmtp_port, backoff_s=1)
        wait_until(lambda: pending() == 0, 60, "the directory relayed")
        wait_until(
            lambda: gateway_id in read_gateways(own_broker.bootstrap, settings.topics.gateways),
            30,
            "the gateway on directory.gateways",
        )

        def count(model: type) -> int:
            with db.transaction() as s:
                return s.scalar(select(func.count()).select_from(model)) or 0

        # Before the outage: delivered at once.
        postfix.send(CLIENT, [GATEWAY], _mail(1))
        wait_until(lambda: count(Ticket) == 1, 60, f"the first ticket; lmtp: {pipe.log('lmtp')}")

        own_broker.stop()
        postfix.send(CLIENT, [GATEWAY], _mail(2))
        postfix.send(CLIENT, [GATEWAY], _mail(3))
        # Each refused with a 4xx at least once: still in Postfix's queue, not bounced.
        wait_until(
            lambda: postfix.deliveries("deferred") >= 2, 30, f"deferrals: {postfix.log_tail()}"
        )
        assert not postfix.queue_empty()
        assert postfix.deliveries("bounced") == 0
        assert postfix.deliveries("sent") == 1
        with starting("Kafka (restart)"):
            own_broker.start()
            own_broker.wait_ready(120)
        wait_until(postfix.queue_empty, 60, f"Postfix's retries: {postfix.log_tail()}")
        wait_until(lambda: count(Ticket) >= 3, 60, f"three tickets; router: {pipe.log('router')}")
        wait_until(lambda: count(MailOutcome) >= 3, 30, "an outcome per mail")
        time.sleep(2)  # anything doubled would land by now
        pipe.assert_running()

        deferred, sent = postfix.deliveries("deferred"), postfix.deliveries("sent")
        with db.transaction() as s:
            tickets = list(s.scalars(select(Ticket)))
            outcomes = list(s.scalars(select(MailOutcome)))
        print(
            f"Postfix: {sent} delivered, {deferred} deferred attempts; "
            f"{len(tickets)} tickets, {len(outcomes)} outcomes"
        )
        assert sent == 3 and deferred >= 2 and postfix.deliveries("bounced") == 0
        assert len(tickets) == 3
        assert len({t.source_email_id for t in tickets}) == 3
        assert sorted(t.subject for t in tickets) == [f"Server {n} is down" for n in (1, 2, 3)]
        assert all(t.department_id == dep.id for t in tickets)
        assert sorted(o.decision for o in outcomes) == ["ticket_opened"] * 3

        # A delivery whose 250 the MTA never saw is sent again, byte for byte: the same
        # email id, so no second ticket (the router and the store drop the repeat).
        again = _mail(4)
        for _ in range(2):
            with smtplib.LMTP("127.0.0.1", lmtp_port) as lmtp:
                assert lmtp.sendmail(CLIENT, [GATEWAY], again) == {}
        wait_until(lambda: count(MailOutcome) >= 4, 30, "the repeated mail's outcome")
        time.sleep(2)
        assert count(Ticket) == 4 and count(MailOutcome) == 4
        raws = read_raw(settings)
        repeated = [r for r in raws if r.source.protocol == "lmtp" and b"Server 4" in _bytes(r)]
        assert len(repeated) == 2 and repeated[0].email_id == repeated[1].email_id
        # A retry may put a mail on mail.raw again (its first publish can reach the broker
        # after the 451 went out), but always under the same email id.
        ids_by_subject: dict[bytes, set[str]] = {}
        for r in raws:
            subject = _bytes(r).split(b"Subject: ", 1)[1].split(b"\n", 1)[0].strip()
            ids_by_subject.setdefault(subject, set()).add(r.email_id)
        assert len(ids_by_subject) == 4
        assert all(len(ids) == 1 for ids in ids_by_subject.values()), ids_by_subject
        print(f"mail.raw: {len(raws)} records for 4 mails")

        # A large mail (over the inline limit) goes through the claim check.
        postfix.send(CLIENT, [GATEWAY], _mail(5, body_bytes=settings.inline_limit_bytes + 4096))
        wait_until(lambda: count(Ticket) == 5, 60, f"the large mail's ticket: {pipe.log('lmtp')}")
        large = [r for r in read_raw(settings) if r.blob_ref is not None]
        assert len(large) == 1 and large[0].size > settings.inline_limit_bytes
    finally:
        for proc in pipe.procs.values():  # all at once: their shutdowns overlap
            proc.terminate()
        for name in list(pipe.procs):
            pipe.stop(name)
        db.dispose()
