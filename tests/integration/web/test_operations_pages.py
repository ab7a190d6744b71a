"""The operations pages as an administrator sees them: the mail log (search, a mail's page,
its raw source from a real broker's mail.raw, a missing blob), dead letters with
reprocessing, and gateway health."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from sqlalchemy import select

from schemas import codec
from schemas.events import (
    AddMessage,
    DeadLetter,
    Decision,
    GatewaySnapshot,
    MailContent,
    MailSource,
    Outcome,
    RawEmail,
)
from services.ticket_store import actions
from services.ticket_store.actions import operations
from services.ticket_store.consumer.batch import BatchApplier
from services.ticket_store.models import Gateway, OutboxEvent, Ticket
from services.ticket_store.models_operations import DeadLetterRecord
from tests.integration.web.conftest import World, csrf_of, log_in

RAW = (
    b"From: Zoe <Zoe@Example.COM>\r\nTo: sales@company.net\r\nSubject: Broken printer\r\n"
    b"\r\nhelp\r\n"
)
NOW = datetime.now(UTC)


def _raw_event(email_id: str, **body: object) -> RawEmail:
    fields = {"raw_b64": base64.b64encode(RAW).decode()} | body
    return RawEmail(
        email_id=email_id, gateway_id="gw", size=len(RAW), sha256="0" * 64,
        gateway=GatewaySnapshot(address="sales@company.net", department_id=1),
        source=MailSource(protocol="maildir", filename=email_id), **fields,
    )  # fmt: skip


def _with_broker(world: World, bootstrap: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    topics = world.settings.topics.model_copy(update={"raw": topic})
    world.app.app.state.settings = world.settings.model_copy(
        update={"kafka_bootstrap": bootstrap, "topics": topics}
    )


def _publish(bootstrap: str, topic: str, event: RawEmail) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    meta = producer.send(topic, key=b"gw", value=codec.dumps(event)).get(30)
    producer.close()
    return meta.offset


def _locate(world: World, topic: str, event: RawEmail, offset: int, sender: str, subject: str):
    with world.db.unit_of_work() as uow:
        operations.record_sources(uow, [operations.RawLocation(
            email_id=event.email_id, gateway_id="gw", from_address=sender, subject=subject,
            size=event.size, blob_ref=event.blob_ref, topic=topic, partition=0, offset=offset,
            fetched_at=NOW - timedelta(minutes=5),
        )])  # fmt: skip


def _outcome(world: World, email_id: str, decision: Decision, rule: str, minutes: int) -> None:
    with world.db.unit_of_work() as uow:
        actions.mail_commands.record_outcome(uow, Outcome(
            email_id=email_id, gateway_id="gw", decision=decision, rule=rule,
            reason=f"{rule} said so", decided_at=NOW - timedelta(minutes=minutes),
        ))  # fmt: skip


def test_mail_log_search_mail_page_and_raw_source(
    world: World, kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    topic = f"{kafka_topic_prefix}.mail.raw"
    _with_broker(world, kafka_bootstrap, topic)
    inline = _raw_event("e-inline")
    _locate(world, topic, inline, _publish(kafka_bootstrap, topic, inline), "zoe@example.com",
            "Broken printer")  # fmt: skip
    blob = _raw_event("e-blob", raw_b64=None, blob_ref="sha256:" + "ab" * 32)
    _locate(world, topic, blob, _publish(kafka_bootstrap, topic, blob), "max@example.org",
            "Big attachment")  # fmt: skip
    _outcome(world, "e-inline", Decision.INCOMING, "client", 3)
    _outcome(world, "e-blob", Decision.MALFORMED, "parse", 2)

    ann = log_in(world, "ann")
    page = ann.get("/admin/mail-log")
    assert page.status_code == 200
    assert page.text.index("Big attachment") < page.text.index("Broken printer")  # newest first
    for query, shown, hidden in (
        ("sender=ZOE", "Broken printer", "Big attachment"),
        ("subject=attach", "Big attachment", "Broken printer"),
        ("decision=malformed", "Big attachment", "Broken printer"),
        ("rule=client", "Broken printer", "Big attachment"),
        (f"since={NOW.date()}&until={NOW.date()}&gateway=gw", "Broken printer", "nothing"),
    ):
        found = ann.get(f"/admin/mail-log?{query}").text
        assert shown in found and hidden not in found, query
    assert "No mail matches" in ann.get("/admin/mail-log?since=2001-01-01&until=2001-01-02").text

    mail = ann.get("/admin/mail-log/e-inline")
    assert mail.status_code == 200
    assert "incoming" in mail.text and "client said so" in mail.text
    assert "Subject: Broken printer" in mail.text  # the raw source, as text
    eml = ann.get("/admin/mail-log/e-inline/raw.eml")
    assert eml.status_code == 200 and eml.content == RAW
    assert eml.headers["content-type"] == "message/rfc822"
    assert 'filename="e-inline.eml"' in eml.headers["content-disposition"]

    gone = ann.get("/admin/mail-log/e-blob")
    assert gone.status_code == 200
    assert "is missing from the blob store" in gone.text
    assert ann.get("/admin/mail-log/e-blob/raw.eml").status_code == 404
    assert ann.get("/admin/mail-log/no-such-mail").status_code == 404

    # A router dead letter of that mail, reprocessed: the raw mail goes to mail.raw again.
    with world.db.unit_of_work() as uow:
        operations.record_dead_letter(uow, DeadLetter(
            email_id="e-inline", gateway_id="gw", stage="router.parse", reason="blob gone",
        ))  # fmt: skip
    listing = ann.get("/admin/dead-letters")
    assert "blob gone" in listing.text
    with world.db.transaction() as s:
        letter = s.scalar(select(DeadLetterRecord)).id
    form = {"csrf_token": csrf_of(listing.text), "letter_ids": [str(letter)]}
    r = ann.post("/admin/dead-letters/reprocess", data=form)
    assert r.status_code == 303 and "reprocessed=1" in r.headers["location"], r.text
    with world.db.transaction() as s:
        row = s.get(DeadLetterRecord, letter)
        assert (row.status, row.reprocessed_by) == ("reprocessing", f"staff:{world.ids['ann']}")
        out = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)).all()
        assert [codec.loads(RawEmail, e.value).email_id for e in out] == ["e-inline"]
    assert "reprocessing" in ann.get(f"/admin/dead-letters/{letter}").text


def test_dead_letter_of_the_store_reprocessed_from_the_page(world: World) -> None:
    topic = world.settings.topics.ticket_commands
    cmd = AddMessage(email_id="e-late", gateway_id="gw", ticket_id="ZZZZZZZZZZ",
                     client_id=world.ids["bob"],
                     content=MailContent(from_address="bob@example.org", text="late"))  # fmt: skip

    class Rec:
        partition, offset, key, value = 0, 1, b"1", codec.dumps(cmd)

    Rec.topic = topic
    with world.db.unit_of_work() as uow:
        assert len(BatchApplier(world.settings.topics).apply(uow, [Rec()]).dead) == 1
    ann = log_in(world, "ann")
    listing = ann.get("/admin/dead-letters")
    assert f"store:{topic}" in listing.text and "unknown ticket" in listing.text
    with world.db.transaction() as s:
        letter = s.scalar(select(DeadLetterRecord)).id
    form = {"csrf_token": csrf_of(listing.text), "letter_ids": [str(letter)]}
    r = ann.post("/admin/dead-letters/reprocess", data=form)
    assert r.status_code == 303 and "unchanged=1" in r.headers["location"]  # not fixed yet
    refused = ann.post("/admin/dead-letters/reprocess", data={"csrf_token": form["csrf_token"]})
    assert refused.status_code == 422 and "Tick the dead letters" in refused.text
    with world.db.transaction() as s:
        ticket = s.get(Ticket, world.bob_ticket)
        assert ticket is not None
        ticket.id = "ZZZZZZZZZZ"  # the fix: the ticket it names exists now
    r = ann.post("/admin/dead-letters/reprocess", data=form)
    assert r.status_code == 303 and "reprocessed=1" in r.headers["location"]
    detail = ann.get(f"/admin/dead-letters/{letter}").text
    assert "resolved" in detail and "by staff:" in detail


def test_gateway_health_page(world: World) -> None:
    secret = "S3cret-Gateway-Password"
    now = datetime.now(UTC)  # not the module's: the page compares with its own clock
    ann = log_in(world, "ann")
    with world.db.unit_of_work() as uow:
        for name, interval in (("imap-ok", 60), ("pop-stale", 60), ("quiet", 300)):
            uow.session.add(Gateway(
                id=f"gw-{name}", name=name, address=f"{name}@company.net",
                department_id=world.sales, poll_interval_s=interval, password_encrypted=secret,
            ))  # fmt: skip
        uow.flush()
        operations.record_health(uow, operations.HealthReport(
            gateway_id="gw-imap-ok", status="ok", idle=True, owner="host-a",
            last_success=now, updated_at=now,
        ))  # fmt: skip
        operations.record_health(uow, operations.HealthReport(
            gateway_id="gw-pop-stale", status="failing", owner="host-b", consecutive_failures=4,
            last_error="login failed: AUTHENTICATIONFAILED", last_error_at=now - timedelta(hours=1),
            updated_at=now - timedelta(hours=1),
        ))  # fmt: skip
        for i, minutes in enumerate((5, 50, 300)):
            operations.record_sources(uow, [operations.RawLocation(
                email_id=f"m{i}", gateway_id="gw-imap-ok", from_address="", subject="", size=1,
                blob_ref=None, topic="mail.raw", partition=0, offset=i,
                fetched_at=now - timedelta(minutes=minutes),
            )])  # fmt: skip
    _outcome(world, "m1", Decision.INCOMING, "client", 1)
    _outcome(world, "m2", Decision.INCOMING, "client", 1)
    page = ann.get("/admin/gateway-health")
    assert page.status_code == 200
    assert secret not in page.text
    rows = page.text.split('class="gateway-health-row')[1:]
    ok, stale, quiet = (next(r for r in rows if f">{n}<" in r) for n in ("imap-ok", "pop-stale",
                                                                          "quiet"))  # fmt: skip
    assert "IDLE" in ok and ">ok" in ok and "2 / 3" in ok and "1 waiting" in ok
    assert "stale" in stale and "AUTHENTICATIONFAILED" in stale and "(4 failures)" in stale
    assert "never reported" in quiet and "polling every 300s" in quiet
