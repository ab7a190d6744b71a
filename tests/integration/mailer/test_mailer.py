"""The mailer against a real SMTP server (aiosmtpd sink): threading headers, no header
injection, one email per outbound id, delivery reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from services.mailer.worker import Mailer
from supportdesk.config import Settings
from tests.fixtures.smtp import SmtpSink


@pytest.fixture
def mailer(smtp_sink: SmtpSink, tmp_path: Path) -> tuple[Mailer, list[DeliveryReport]]:
    settings = Settings(
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        mail_from="support@company.net",
        message_id_domain="desk.test",
        mailer_ledger=tmp_path / "sent.sqlite",
    )
    reports: list[DeliveryReport] = []
    return Mailer(settings, report=reports.append), reports


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


def test_temporary_failures_are_retried_permanent_ones_reported(mailer, smtp_sink) -> None:
    m, reports = mailer
    smtp_sink.fail_next("451 4.3.0 Try again later")
    m.handle(_reply())
    assert len(smtp_sink.wait_for(1)) == 1
    smtp_sink.fail_next("554 5.7.1 Rejected")
    m.handle(_reply(outbound_id="out2", message_id="<out2@desk.test>"))
    assert len(smtp_sink.messages) == 1
    assert [(r.outbound_id, r.status) for r in reports] == [("out1", "sent"), ("out2", "failed")]
    assert reports[1].detail.startswith("554")
