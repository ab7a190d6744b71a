"""A reply-all on a real SMTP server (aiosmtpd sink): RCPT TO is the client and the Cc,
never the gateway the reply is sent from, each address once."""

from __future__ import annotations

from kernel.config import Settings
from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from services.mailer.ledger import SentLedger
from services.mailer.worker import Mailer
from tests.fixtures.smtp import SmtpSink


def test_reply_all_envelope(smtp_sink: SmtpSink, ledger: SentLedger) -> None:
    settings = Settings(
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        smtp_security="none",
        mail_from="support@company.net",
    )
    reports: list[DeliveryReport] = []
    mailer = Mailer(settings, report=reports.append, ledger=ledger)
    out = OutboundEmail(
        outbound_id="all1",
        to="alice@example.org",
        from_address="support@company.net",
        subject="Re: VPS down",
        text="Fixed for all.",
        cc=("bob@example.com", "Support@Company.net", "alice@example.org", "BOB@example.com"),
    )
    mailer.handle(codec.dumps(out))
    mailer.handle(codec.dumps(out.model_copy(update={"outbound_id": "one1", "cc": ()})))
    everyone, alice = smtp_sink.wait_for(2)
    assert everyone.rcpt_tos == ("alice@example.org", "bob@example.com")
    assert everyone.message["Cc"] == "bob@example.com"
    assert alice.rcpt_tos == ("alice@example.org",) and alice.message["Cc"] is None
    assert [(r.outbound_id, r.status) for r in reports] == [("all1", "sent"), ("one1", "sent")]
