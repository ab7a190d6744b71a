"""The router's full topology against a real Kafka broker, the worker in a subprocess."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.blobs import BlobStore
from schemas.events import GatewaySnapshot, MailSource, MessageAdded, TicketOpened
from schemas.raw import make_raw_email
from tests.integration.router.harness import RouterEnv, mail, outcomes_by_email, raw_email

pytestmark = pytest.mark.integration


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> Iterator[RouterEnv]:
    e = RouterEnv(kafka_bootstrap, tmp_path)
    yield e
    e.close()


def dsn_for(message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: support@company.net\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; alice@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--B\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <{message_id}>\r\n"
        "From: support@company.net\r\nSubject: Re\r\n\r\nreply\r\n--B--\r\n"
    ).encode()


def test_full_topology(env: RouterEnv) -> None:
    env.add_client("Alice@Example.com", 7)
    env.add_client("gone@example.com", 8)
    env.remove_client("gone@example.com")  # tombstone
    env.add_department(1, per_incident=False)
    env.add_department(2, per_incident=True, notice="No incidents left, sorry.")
    env.grant(7, 1, grant_id="g-1")
    env.grant(7, 1, grant_id="g-1")  # the same grant redelivered: counts once
    ticket = "ABCDEFGHIJ"
    env.send(
        "ticket_events",
        ticket,
        TicketOpened(
            event_id="ev1",
            ticket_id=ticket,
            number=1,
            department_id=1,
            client_id=7,
            subject="x",
        )
        .model_dump_json()
        .encode(),
    )
    env.send(
        "ticket_events",
        ticket,
        MessageAdded(
            event_id="ev2",
            ticket_id=ticket,
            message_id=1,
            direction="out",
            email_message_id="<staff-1@company.net>",
            client_id=7,
        )
        .model_dump_json()
        .encode(),
    )
    env.flush()

    blobs = BlobStore(env.workdir / "blobs")
    big_body = "line of a long log file\n" * 60_000  # ~1.4 MB: claim check
    big = make_raw_email(
        gateway_id="gw1",
        gateway=GatewaySnapshot(address="support@company.NET", department_id=1),
        source=MailSource(protocol="maildir", filename="big"),
        data=mail(body=big_body),
        blobs=blobs,
        inline_limit=512 * 1024,
    )
    assert big.blob_ref is not None
    cases = {
        "ticket": raw_email(mail(frm="ALICE@example.com")),
        "incoming": raw_email(mail(frm="bob@example.org")),
        "tombstoned": raw_email(mail(frm="gone@example.com")),
        "alias": raw_email(mail(to="support@company.com")),
        "empty": raw_email(mail(body="   ")),
        "junk": raw_email(b"\x00\x01\x02"),
        "reply": raw_email(
            mail(subject="Re: x", extra_headers="In-Reply-To: <staff-1@company.net>\r\n")
        ),
        "bounce": raw_email(dsn_for("staff-1@company.net")),
        "paid1": raw_email(mail(), department_id=2),
        "paid2": raw_email(mail(), department_id=2),
        "autoreply": raw_email(
            mail(extra_headers="Auto-Submitted: auto-replied\r\n"), department_id=2
        ),
        "big": big,
    }
    router = env.start_router(SUPPORTDESK_NOTICE_WINDOW_S="3600")
    for raw in cases.values():
        env.send_raw(raw)
    env.send("raw", "gw1", b"{not even json")
    env.flush()

    records = env.read("outcomes", lambda r: len(r) >= len(cases) + 1, timeout=120)
    by_email = outcomes_by_email(records)
    assert len(records) == len(cases) + 1 and all(len(v) == 1 for v in by_email.values())
    got = {name: by_email[raw.email_id][0] for name, raw in cases.items()}
    expected = {
        "ticket": "ticket_opened",
        "incoming": "incoming",
        "tombstoned": "incoming",
        "alias": "ignored_recipient",
        "empty": "ignored_empty",
        "junk": "malformed",
        "reply": "message_added",
        "bounce": "automatic",
        "paid1": "ticket_opened",
        "paid2": "insufficient_incidents",
        "autoreply": "incoming",
        "big": "ticket_opened",
    }
    assert {k: v["decision"] for k, v in got.items()} == expected
    assert got["reply"]["ticket_id"] == ticket and got["bounce"]["ticket_id"] == ticket
    assert got["autoreply"]["automatic"] is True

    commands = env.read("ticket_commands", lambda r: len(r) >= 4, timeout=30)
    kinds = sorted((v["kind"], v["email_id"]) for _, v in commands)
    assert kinds == sorted(
        [
            ("open_ticket", cases["ticket"].email_id),
            ("open_ticket", cases["paid1"].email_id),
            ("open_ticket", cases["big"].email_id),
            ("add_message", cases["reply"].email_id),
        ]
    )
    assert all(key == "7" for key, _ in commands)
    big_cmd = next(v for _, v in commands if v["email_id"] == big.email_id)
    assert big_cmd["content"]["attachments"][0]["filename"] == "body.txt"

    outbound = env.read("outbound", lambda r: len(r) >= 1, timeout=30)
    assert len(outbound) == 1
    key, notice = outbound[0]
    assert key == "alice@example.com" and notice["text"] == "No incidents left, sorry."
    assert notice["auto_submitted"] == "auto-replied" and notice["in_reply_to"]

    dead = env.read("dead", lambda r: len(r) >= 2, timeout=30)
    assert len(dead) == 2 and cases["junk"].email_id in {k for k, _ in dead}
    incoming = env.read("incoming", lambda r: len(r) >= 3, timeout=30)
    assert len(incoming) == 3
    env.stop_router(router)
    assert router.returncode in (0, -signal.SIGTERM)


def test_client_added_while_running_is_seen_by_the_next_mail(env: RouterEnv) -> None:
    """The directory read barrier: a mail fetched after the client was published never
    sees a stale 'unknown sender'."""
    env.add_department(1, per_incident=False)
    env.flush()
    env.start_router()
    first = raw_email(mail(frm="warmup@example.org"))
    env.send_raw(first)
    env.flush()
    env.read("outcomes", lambda r: len(r) >= 1, timeout=120)
    names = [f"new{i}@example.com" for i in range(5)]
    raws = []
    for i, name in enumerate(names):
        env.add_client(name, 100 + i)
        env.flush()
        raw = raw_email(mail(frm=name))
        raws.append(raw)
        env.send_raw(raw)
        env.flush()
    records = env.read("outcomes", lambda r: len(r) >= 6, timeout=60)
    by_email = outcomes_by_email(records)
    assert [by_email[r.email_id][0]["decision"] for r in raws] == ["ticket_opened"] * 5


def test_incidents_race_with_restart(env: RouterEnv) -> None:
    """50 mails from one client, 10 incidents, two gateways of a paid department, the
    router killed (SIGKILL, no clean commit) in the middle and started again:
    exactly 10 tickets, at most one notice, every mail decided, decisions stable."""
    env.add_client("alice@example.com", 7)
    env.add_department(5, per_incident=True)
    env.grant(7, 10, grant_id="race-grant")
    env.flush()
    gateways = (("gwA", "support@company.net"), ("gwB", "sales@company.net"))
    raws = [
        raw_email(mail(to=addr), gateway_id=gw, address=addr, department_id=5)
        for _ in range(25)
        for gw, addr in gateways
    ]
    router = env.start_router(SUPPORTDESK_NOTICE_WINDOW_S="86400")
    for raw in raws[:25]:
        env.send_raw(raw)
    env.flush()
    env.read("outcomes", lambda r: len(r) >= 8, timeout=120)
    env.stop_router(router, signal.SIGKILL)
    for raw in raws[25:]:
        env.send_raw(raw)
    env.flush()
    env.start_router(SUPPORTDESK_NOTICE_WINDOW_S="86400")

    def all_decided(records) -> bool:
        return len(outcomes_by_email(records)) >= 50

    records = env.read("outcomes", all_decided, timeout=180)
    by_email = outcomes_by_email(records)
    assert set(by_email) == {r.email_id for r in raws}
    for outs in by_email.values():  # redelivery may repeat an outcome, never change it
        assert len({(o["decision"], o["ticket_id"]) for o in outs}) == 1
    decisions = [outs[0]["decision"] for outs in by_email.values()]
    assert decisions.count("ticket_opened") == 10
    assert decisions.count("insufficient_incidents") == 40

    commands = env.read_all("ticket_commands")
    assert len({v["ticket_id"] for _, v in commands if v["kind"] == "open_ticket"}) == 10
    assert all(v["charged"] for _, v in commands)
    notices = env.read_all("outbound", settle_s=0)
    assert len({v["outbound_id"] for _, v in notices}) == 1
