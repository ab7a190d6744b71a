"""The mailer against a real SMTP server (aiosmtpd sink): threading headers, no header
injection, one email per outbound id, delivery reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import Settings
from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from services.mailer.ledger import SentLedger
from services.mailer.worker import Mailer
from tests.fixtures.smtp import SmtpSink


@pytest.fixture
def mailer(smtp_sink: SmtpSink, ledger: SentLedger) -> tuple[Mailer, list[DeliveryReport]]:
    settings = Settings(
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        mail_from="support@company.net",
        message_id_domain="desk.test",
    )
    reports: list[DeliveryReport] = []
    return Mailer(settings, report=reports.append, ledger=ledger), reports


def _reply(**kw: object) -> bytes:
    fields: dict[str, object] = {
        "outbound_id": "out1",
        "to": "alice@example.org",
        "subject": "Re: VPS does not boot",
        "text": "We rebooted it.",
        "in_reply_to": "<client-1@example.org>",
        "references": ("<client-1@example.org>", "<out0@desk.test>"),
        "ticket_id": "AAAAAAAAAA",
        "message_id": "<out1@desk.test>",
    }
    fields.update(kw)
    return codec.dumps(OutboundEmail(**fields))  # type: ignore[arg-type]


def test_staff_reply_carries_threading_headers_and_the_ticket_tag(mailer, smtp_sink) -> None:
    m, reports = mailer
    m.handle(_reply())
    [got] = smtp_sink.wait_for(1)
    msg = got.message
    assert got.rcpt_tos == ("alice@example.org",)
    assert msg["Message-ID"] == "<out1@desk.test>"
    assert msg["In-Reply-To"] == "<client-1@example.org>"
    assert msg["References"] == "<client-1@example.org> <out0@desk.test>"
    assert msg["Subject"] == "Re: VPS does not boot [#AAAAAAAAAA]"
    assert msg["From"] == "support@company.net"
    assert msg.get_content().strip() == "We rebooted it."
    assert msg["Auto-Submitted"] is None  # a person's reply is not automatic
    assert [(r.outbound_id, r.status) for r in reports] == [("out1", "sent")]


def test_same_outbound_id_is_sent_once(mailer, smtp_sink) -> None:
    m, reports = mailer
    m.handle(_reply())
    m.handle(_reply())
    smtp_sink.wait_for(1)
    m.handle(_reply(outbound_id="out2", message_id="<out2@desk.test>"))
    assert len(smtp_sink.wait_for(2)) == 2
    assert [r.outbound_id for r in reports] == ["out1", "out2"]


def test_a_subject_cannot_inject_headers(mailer, smtp_sink) -> None:
    m, _ = mailer
    m.handle(_reply(subject="Hello\r\nBcc: victim@evil.example\r\nX-Evil: 1"))
    [got] = smtp_sink.wait_for(1)
    assert got.rcpt_tos == ("alice@example.org",)
    assert got.message["Bcc"] is None and got.message["X-Evil"] is None
    assert "victim@evil.example" in got.message["Subject"]  # kept as text, on one line
    assert b"\r\nBcc:" not in got.data


@pytest.mark.parametrize(
    "to",
    [
        "alice@example.org\r\nBcc: victim@evil.example",
        "alice@example.org, victim@evil.example",
        "not an address",
    ],
)
def test_a_bad_recipient_is_refused_and_reported(mailer, smtp_sink, to: str) -> None:
    m, reports = mailer
    m.handle(_reply(to=to))
    m.handle(_reply(outbound_id="ok", message_id="<ok@desk.test>"))
    [got] = smtp_sink.wait_for(1)
    assert got.rcpt_tos == ("alice@example.org",)  # only the good one went out
    assert [(r.outbound_id, r.status) for r in reports] == [("out1", "failed"), ("ok", "sent")]


def test_temporary_failures_are_queued_and_retried_permanent_ones_reported(
    mailer, smtp_sink
) -> None:
    m, reports = mailer
    smtp_sink.fail_next("451 4.3.0 Try again later")
    m.handle(_reply(), now=1000.0)
    assert smtp_sink.messages == [] and m.ledger.queue_length() == 1
    assert m.retry_due(now=1001.0) == 0  # not due before mailer_retry_first_s
    assert m.retry_due(now=1000.0 + m.settings.mailer_retry_first_s) == 1
    assert len(smtp_sink.wait_for(1)) == 1 and m.ledger.queue_length() == 0
    m.handle(_reply(), now=2000.0)  # redelivered after it went: not again
    smtp_sink.fail_next("554 5.7.1 Rejected")
    m.handle(_reply(outbound_id="out2", message_id="<out2@desk.test>"), now=2000.0)
    assert len(smtp_sink.messages) == 1
    assert [(r.outbound_id, r.status) for r in reports] == [
        ("out1", "deferred"), ("out1", "sent"), ("out2", "failed")
    ]  # fmt: skip
    assert reports[0].detail.startswith("451") and reports[2].detail.startswith("554")


def _settings_for(port: int, tmp_path: Path, **kw: object) -> Settings:
    return Settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="support@company.net", message_id_domain="desk.test", **kw,
    )  # fmt: skip


def test_a_dead_server_queues_mail_without_waiting_and_it_goes_out_once_back(
    smtp_sink: SmtpSink, tmp_path: Path, ledger: SentLedger
) -> None:
    from tests.fixtures.parts import free_port

    reports: list[DeliveryReport] = []
    m = Mailer(_settings_for(free_port(), tmp_path), report=reports.append, ledger=ledger)
    for i in range(3):
        m.handle(_reply(outbound_id=f"o{i}", message_id=f"<o{i}@desk.test>"), now=100.0)
    assert m.ledger.queue_length() == 3
    assert [r.status for r in reports] == ["deferred"] * 3
    assert "unavailable" in reports[0].detail and "unreachable" in reports[1].detail
    assert m.retry_due(now=100.0 + 60) == 0  # still down: tried once, rest left
    m.settings = _settings_for(smtp_sink.port, tmp_path)  # the server is back
    m.handle(_reply(outbound_id="o0", message_id="<o0@desk.test>"), now=500.0)  # redelivery
    assert m.retry_due(now=10_000.0) == 3
    got = smtp_sink.wait_for(3)
    assert sorted(g.message["Message-ID"] for g in got) == [f"<o{i}@desk.test>" for i in range(3)]
    assert m.ledger.queue_length() == 0 and [r.status for r in reports[3:]] == ["sent"] * 3


def test_mail_that_cannot_go_for_days_is_reported_failed(
    smtp_sink: SmtpSink, tmp_path: Path, ledger: SentLedger
) -> None:
    reports: list[DeliveryReport] = []
    settings = _settings_for(smtp_sink.port, tmp_path, mailer_give_up_s=10 * 3600.0)
    m = Mailer(settings, report=reports.append, ledger=ledger)
    smtp_sink.fail_next("421 4.3.2 Busy", count=100)
    m.handle(_reply(), now=0.0)
    now, retries = 0.0, 0
    while m.ledger.queue_length() and retries < 50:
        now += m.settings.mailer_retry_max_s
        m.retry_due(now=now)
        retries += 1
    assert m.ledger.queue_length() == 0 and smtp_sink.messages == []
    assert reports[0].status == "deferred" and reports[-1].status == "failed"
    assert reports[-1].detail.startswith("gave up after") and "421" in reports[-1].detail
    assert now >= m.settings.mailer_give_up_s


def test_the_run_loop_commits_while_the_server_is_down(
    smtp_sink: SmtpSink, tmp_path: Path, kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    """A dead SMTP server never holds the partition: records are queued and committed,
    then delivered once the server answers."""
    import threading
    import time

    from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    from kafka.errors import CoordinatorNotAvailableError, NotCoordinatorError

    from kernel.config import Topics
    from tests.fixtures.parts import free_port

    topic = f"{kafka_topic_prefix}outbound"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    settings = _settings_for(
        free_port(), tmp_path, kafka_bootstrap=kafka_bootstrap,
        mailer_group_id=f"{kafka_topic_prefix}mailer",
        topics=Topics(outbound=topic, sent=f"{kafka_topic_prefix}sent"),
        mailer_retry_first_s=0.5,
    )  # fmt: skip
    reports: list[DeliveryReport] = []
    m = Mailer(settings, report=reports.append)
    worker = threading.Thread(target=m.run, daemon=True)
    worker.start()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for i in range(3):
        producer.send(topic, _reply(outbound_id=f"k{i}", message_id=f"<k{i}@desk.test>"))
    producer.flush()
    tp = TopicPartition(topic, 0)
    deadline = time.time() + 30
    committed = None
    while time.time() < deadline:
        try:
            offsets = admin.list_group_offsets(settings.mailer_group_id)
        except (CoordinatorNotAvailableError, NotCoordinatorError):  # a fresh broker's offsets
            time.sleep(0.2)
            continue
        got = offsets.get(settings.mailer_group_id, {}).get(tp)
        committed = got.offset if got is not None else None
        if committed == 3:
            break
        time.sleep(0.2)
    assert committed == 3 and smtp_sink.messages == []  # all committed, none sent yet
    m._server_down_until = 0.0  # noqa: SLF001 - skip the pause after the failures
    m.settings = settings.model_copy(update={"smtp_port": smtp_sink.port})
    got = smtp_sink.wait_for(3, timeout=30)
    m.stopping.set()
    worker.join(10)
    producer.close()
    admin.close()
    assert sorted(g.message["Message-ID"] for g in got) == [f"<k{i}@desk.test>" for i in range(3)]
    assert sorted(r.outbound_id for r in reports if r.status == "sent") == ["k0", "k1", "k2"]


def test_a_reply_with_a_file_arrives_with_it(
    smtp_sink: SmtpSink, tmp_path: Path, ledger: SentLedger
) -> None:
    from kernel.blobs import BlobStore
    from schemas.events import Attachment

    settings = _settings_for(smtp_sink.port, tmp_path, blob_dir=tmp_path / "blobs")
    ref = BlobStore(settings.blob_dir).put(b"%PDF-1.4 invoice")
    reports: list[DeliveryReport] = []
    m = Mailer(settings, report=reports.append, ledger=ledger)
    pdf = Attachment(filename="invoice.pdf", content_type="application/pdf", size=16, blob_ref=ref)
    m.handle(codec.dumps(OutboundEmail(**{**codec.loads(OutboundEmail, _reply()).model_dump(),
                                          "attachments": (pdf,)})))  # fmt: skip
    [got] = smtp_sink.wait_for(1)
    [part] = list(got.message.iter_attachments())
    assert part.get_filename() == "invoice.pdf" and part.get_content() == b"%PDF-1.4 invoice"
    assert got.message.get_body(("plain",)).get_content().strip() == "We rebooted it."
    assert [r.status for r in reports] == ["sent"]
