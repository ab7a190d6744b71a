"""The mailer: mail.outbound to SMTP, each outbound email sent at most once in effect.

The Message-ID is derived from the outbound id, and a small ledger of sent ids
is checked before sending and written after, so a redelivered record is not
sent again; if the process dies between the SMTP accept and the ledger write,
the repeat carries the same Message-ID and mail clients fold it.

Each outcome goes out on mail.delivery (schemas.events.DeliveryReport) so the
store can record on the message whether it was sent or failed.
"""

from __future__ import annotations

import logging
import smtplib
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from schemas.ticket_tag import tagged_subject
from supportdesk.config import Settings

log = logging.getLogger(__name__)


def _one_line(value: str) -> str:
    """Header values never carry CR/LF: no header injection through a subject."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


class Undeliverable(ValueError):
    """The outbound email itself is wrong (e.g. not one plain address): retrying cannot help."""


def recipient(value: str) -> str:
    """Exactly one plain address; anything that could smuggle a header or a second
    recipient is refused rather than cleaned up."""
    if any(c in value for c in "\r\n\0,;"):
        raise Undeliverable(f"not a single address: {value!r}")
    name, address = parseaddr(value)
    if not address or "@" not in address or any(c.isspace() for c in address):
        raise Undeliverable(f"not an email address: {value!r}")
    return address


def message_id_for(outbound_id: str, domain: str) -> str:
    return f"<{outbound_id}@{domain}>"


def build_message(out: OutboundEmail, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _one_line(out.from_address) or settings.mail_from
    msg["To"] = recipient(out.to)
    subject = _one_line(out.subject)
    msg["Subject"] = tagged_subject(subject, out.ticket_id) if out.ticket_id else subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = _one_line(out.message_id) or message_id_for(
        out.outbound_id, settings.message_id_domain
    )
    if out.in_reply_to:
        msg["In-Reply-To"] = _one_line(out.in_reply_to)
    refs = [_one_line(r) for r in out.references if r]
    if refs:
        msg["References"] = " ".join(refs)
    if out.auto_submitted != "no":
        msg["Auto-Submitted"] = out.auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Supportdesk-Outbound"] = out.outbound_id
    msg.set_content(out.text)
    if out.html:
        msg.add_alternative(out.html, subtype="html")
    return msg


class SentLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("CREATE TABLE IF NOT EXISTS sent (outbound_id TEXT PRIMARY KEY, at REAL)")
        self.conn.commit()

    def seen(self, outbound_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM sent WHERE outbound_id = ?", (outbound_id,))
        return row.fetchone() is not None

    def record(self, outbound_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO sent VALUES (?, ?)", (outbound_id, time.time()))
        self.conn.commit()


Reporter = Callable[[DeliveryReport], None]


class KafkaReporter:
    """Publishes delivery reports keyed by outbound id; a lost report only leaves a message
    "queued" in the web, so it is sent without waiting on the broker's answer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: KafkaProducer | None = None

    def __call__(self, report: DeliveryReport) -> None:
        try:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=5
                )
            self._producer.send(
                self.settings.topics.delivery,
                key=report.outbound_id.encode(),
                value=codec.dumps(report),
            )
            self._producer.flush(timeout=10)
        except Exception:  # the mail went (or failed) either way; the report is best effort
            log.warning("delivery report for %s not published", report.outbound_id, exc_info=True)


class Mailer:
    def __init__(self, settings: Settings, report: Reporter | None = None) -> None:
        self.settings = settings
        self.ledger = SentLedger(settings.mailer_ledger)
        self.stopping = threading.Event()
        self.report: Reporter = report or KafkaReporter(settings)

    def send(self, msg: EmailMessage) -> None:
        s = self.settings
        ctx = ssl.create_default_context(cafile=s.ca_file)
        cls = smtplib.SMTP_SSL if s.smtp_security == "tls" else smtplib.SMTP
        kwargs = {"context": ctx} if s.smtp_security == "tls" else {}
        with cls(s.smtp_host, s.smtp_port, timeout=30, **kwargs) as smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=ctx)
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            # The envelope recipient is the one checked address, never re-read from headers.
            smtp.send_message(msg, to_addrs=[str(msg["To"])])

    def handle(self, value: bytes) -> None:
        try:
            out = codec.loads(OutboundEmail, value)
        except ValidationError as exc:
            log.error("unreadable outbound email dropped: %s", exc.errors()[:2])
            return
        if self.ledger.seen(out.outbound_id):
            return
        try:
            msg = build_message(out, self.settings)
        except (Undeliverable, ValueError) as exc:
            log.error("outbound %s refused: %s", out.outbound_id, exc)
            self._report(out, "failed", str(exc))
            return
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                self.send(msg)
                self.ledger.record(out.outbound_id)
                log.info("sent %s to %s", out.outbound_id, out.to)
                self._report(out, "sent", "")
                return
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if codes and all(500 <= c < 600 for c in codes):
                    log.error("SMTP refused the recipient of %s: %s", out.outbound_id, codes)
                    self._report(out, "failed", f"recipient refused: {exc.recipients}")
                    return
                log.warning("SMTP recipient temporarily refused %s; retrying", codes)
            except smtplib.SMTPResponseException as exc:
                if 500 <= exc.smtp_code < 600:
                    log.error("SMTP refused %s permanently: %s", out.outbound_id, exc.smtp_code)
                    detail = exc.smtp_error.decode(errors="replace") if exc.smtp_error else ""
                    self._report(out, "failed", f"{exc.smtp_code} {detail}".strip())
                    return
                log.warning("SMTP temporary failure %s; retrying", exc.smtp_code)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("SMTP unavailable (%s); retrying in %.0fs", type(exc).__name__, backoff)
            self.stopping.wait(backoff)
            backoff = min(backoff * 2, 60)

    def _report(self, out: OutboundEmail, status: str, detail: str) -> None:
        self.report(
            DeliveryReport(
                outbound_id=out.outbound_id,
                status=status,  # type: ignore[arg-type]
                detail=detail[:1000],
                message_id=out.message_id,
            )
        )

    def run(self) -> None:
        consumer = KafkaConsumer(
            self.settings.topics.outbound,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.mailer_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            while not self.stopping.is_set():
                for tp, records in consumer.poll(timeout_ms=500).items():
                    for r in records:
                        if r.value is not None:
                            self.handle(r.value)
                        if self.stopping.is_set():
                            return
                    consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
        finally:
            consumer.close(autocommit=False)


def run_mailer(settings: Settings) -> None:
    Mailer(settings).run()
