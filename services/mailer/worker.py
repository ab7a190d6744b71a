"""The mailer: mail.outbound to SMTP, each outbound email sent at most once in effect.

The Message-ID is derived from the outbound id, and a small ledger of sent ids
is checked before sending and written after, so a redelivered record is not
sent again; if the process dies between the SMTP accept and the ledger write,
the repeat carries the same Message-ID and mail clients fold it.

A temporary failure (4xx, server down) never holds the partition: the mail is
queued in the same SQLite file, the offset committed, and the queue retried
with backoff between polls, as an MTA would, until it is sent, refused for
good, or too old (`mailer_give_up_s`).

Each outcome goes out on mail.delivery (schemas.events.DeliveryReport) so the
store can record on the message whether it was sent, deferred or failed.
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

from kernel import health
from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.kafka import group_membership, reliable_producer, wait_for_broker
from kernel.lag import start_sampler
from kernel.oauth2.records import KafkaTokenStore
from kernel.oauth2.tokens import OAuth2Failure, TokenManager, mechanism, oauthbearer, xoauth2
from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from schemas.ticket_tag import tagged_subject
from services.mailer import metrics
from services.mailer.recipients import cc_recipients, envelope

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


def build_message(
    out: OutboundEmail, settings: Settings, blobs: BlobStore | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _one_line(out.from_address) or settings.mail_from
    msg["To"] = recipient(out.to)
    if cc := cc_recipients(out, str(msg["To"]), str(msg["From"]), recipient):
        msg["Cc"] = ", ".join(cc)
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
    store = blobs or BlobStore(settings.blob_dir)
    for att in out.attachments:
        try:
            data = store.get(att.blob_ref or "")
        except (OSError, ValueError) as exc:  # gone or corrupt: sending without it would mislead
            raise Undeliverable(f"attachment {att.filename!r} is not available: {exc}") from exc
        maintype, _, subtype = att.content_type.partition("/")
        if not (maintype and subtype) or any(c in att.content_type for c in "\r\n;"):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=_one_line(att.filename) or "file"
        )
    return msg


class SentLedger:
    """Sent outbound ids, and the queue of mail waiting for a retry (one SQLite file)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("CREATE TABLE IF NOT EXISTS sent (outbound_id TEXT PRIMARY KEY, at REAL)")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS queue (outbound_id TEXT PRIMARY KEY, payload BLOB,"
            " attempts INTEGER, first_at REAL, next_at REAL, last_error TEXT)"
        )
        self.conn.commit()

    def seen(self, outbound_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM sent WHERE outbound_id = ?", (outbound_id,))
        return row.fetchone() is not None

    def record(self, outbound_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO sent VALUES (?, ?)", (outbound_id, time.time()))
        self.conn.execute("DELETE FROM queue WHERE outbound_id = ?", (outbound_id,))
        self.conn.commit()

    def queued(self, outbound_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM queue WHERE outbound_id = ?", (outbound_id,))
        return row.fetchone() is not None

    def enqueue(
        self, outbound_id: str, payload: bytes, now: float, next_at: float, error: str
    ) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO queue VALUES (?, ?, 1, ?, ?, ?)",
            (outbound_id, payload, now, next_at, error),
        )
        self.conn.commit()

    def due(self, now: float, limit: int = 50) -> list[tuple[str, bytes, int, float]]:
        """(outbound id, payload, attempts so far, first attempt time), oldest due first."""
        rows = self.conn.execute(
            "SELECT outbound_id, payload, attempts, first_at FROM queue WHERE next_at <= ?"
            " ORDER BY next_at LIMIT ?",
            (now, limit),
        )
        return list(rows)

    def reschedule(self, outbound_id: str, attempts: int, next_at: float, error: str) -> None:
        self.conn.execute(
            "UPDATE queue SET attempts = ?, next_at = ?, last_error = ? WHERE outbound_id = ?",
            (attempts, next_at, error, outbound_id),
        )
        self.conn.commit()

    def drop(self, outbound_id: str) -> None:
        self.conn.execute("DELETE FROM queue WHERE outbound_id = ?", (outbound_id,))
        self.conn.commit()

    def queue_length(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM queue").fetchone()[0])


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
                self._producer = reliable_producer(self.settings, linger_ms=5)
            self._producer.send(
                self.settings.topics.delivery,
                key=report.outbound_id.encode(),
                value=codec.dumps(report),
            )
            self._producer.flush(timeout=10)
        except Exception:  # the mail went (or failed) either way; the report is best effort
            log.warning("delivery report for %s not published", report.outbound_id, exc_info=True)


def _oauth2_answer(mech: str, user: str, token: str, host: str, port: int) -> Callable[..., str]:
    """smtplib's authobject: the initial response, then an empty line to an error challenge."""
    first = oauthbearer(user, token, host, port) if mech == "OAUTHBEARER" else xoauth2(user, token)
    return lambda challenge=None: "" if challenge else first


class Mailer:
    # After a failure to reach the server at all, new mail is queued without an
    # attempt for this long (each attempt against a dead host can take the timeout).
    SERVER_DOWN_PAUSE_S = 30.0

    def __init__(self, settings: Settings, report: Reporter | None = None) -> None:
        self.settings = settings
        self.ledger = SentLedger(settings.mailer_ledger)
        self.stopping = threading.Event()
        self.report: Reporter = report or KafkaReporter(settings)
        self._server_down_until = 0.0
        self.tokens: TokenManager | None = None  # set on first use when sending with OAuth2

    def send(self, msg: EmailMessage) -> None:
        s = self.settings
        ctx = ssl.create_default_context(cafile=s.ca_file)
        cls = smtplib.SMTP_SSL if s.smtp_security == "tls" else smtplib.SMTP
        kwargs = {"context": ctx} if s.smtp_security == "tls" else {}
        with cls(s.smtp_host, s.smtp_port, timeout=30, **kwargs) as smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=ctx)
            if s.smtp_oauth2_gateway:
                self._xoauth2(smtp)
            elif s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            # The envelope: the checked To and Cc (`recipients.envelope`), never Bcc or others.
            smtp.send_message(msg, to_addrs=envelope(msg))

    def _xoauth2(self, smtp: smtplib.SMTP) -> None:
        """SASL XOAUTH2 (or OAUTHBEARER, if that is all the server offers) with the named
        gateway's token: the record the fetchers refresh, so both see every rotation."""
        if self.tokens is None:
            self.tokens = TokenManager(self.settings, KafkaTokenStore(self.settings))
        smtp.ehlo_or_helo_if_needed()
        mech = mechanism(set(smtp.esmtp_features.get("auth", "").split()))
        host, port = self.settings.smtp_host, self.settings.smtp_port
        for force in (False, True):  # a token revoked before expiry: refresh once, retry
            user, token = self.tokens.access_token(self.settings.smtp_oauth2_gateway, force=force)
            try:
                smtp.auth(mech, _oauth2_answer(mech, user, token, host, port))
                return
            except smtplib.SMTPAuthenticationError:
                pass
        raise OAuth2Failure(f"the SMTP server refused a fresh token for {user}", permanent=False)

    def handle(self, value: bytes, now: float | None = None) -> None:
        """One mail.outbound record: sent, refused, or queued for a retry; never blocks long."""
        now = time.time() if now is None else now
        try:
            out = codec.loads(OutboundEmail, value)
        except ValidationError as exc:
            log.error("unreadable outbound email dropped: %s", exc.errors()[:2])
            return
        if self.ledger.seen(out.outbound_id) or self.ledger.queued(out.outbound_id):
            return
        try:
            msg = build_message(out, self.settings)
        except (Undeliverable, ValueError) as exc:
            log.error("outbound %s refused: %s", out.outbound_id, exc)
            self._report(out, "failed", str(exc))
            return
        if now < self._server_down_until:
            error = "SMTP server unreachable at the last attempt"
        else:
            error = self._attempt(out, msg, now)
            if error is None:
                return
        first_retry = self.settings.mailer_retry_first_s
        self.ledger.enqueue(out.outbound_id, value, now, now + first_retry, error)
        log.warning(
            "outbound %s deferred (%s); retry in %.0fs", out.outbound_id, error, first_retry
        )
        self._report(out, "deferred", error)

    def retry_due(self, now: float | None = None, budget_s: float = 60.0) -> int:
        """Retry queued mail that is due, for at most about ``budget_s``; returns how many
        left the queue (sent, refused or given up)."""
        start = time.monotonic()
        now = time.time() if now is None else now
        done = 0
        for outbound_id, payload, attempts, first_at in self.ledger.due(now):
            if self.stopping.is_set() or time.monotonic() - start > budget_s:
                break
            if now < self._server_down_until:
                break  # still down: leave the rest for later
            out = codec.loads(OutboundEmail, payload)
            try:
                msg = build_message(out, self.settings)
            except (Undeliverable, ValueError) as exc:  # e.g. an attachment gone meanwhile
                self.ledger.drop(outbound_id)
                self._report(out, "failed", str(exc))
                done += 1
                continue
            error = self._attempt(out, msg, now)
            if error is None:
                done += 1
                continue
            age = now - first_at
            if age >= self.settings.mailer_give_up_s:
                self.ledger.drop(outbound_id)
                log.error("outbound %s given up after %d attempts", outbound_id, attempts + 1)
                self._report(
                    out, "failed", f"gave up after {attempts + 1} attempts in {age / 3600:.1f} h:"
                    f" {error}"
                )  # fmt: skip
                done += 1
                continue
            delay = min(
                self.settings.mailer_retry_first_s * 2**attempts, self.settings.mailer_retry_max_s
            )
            self.ledger.reschedule(outbound_id, attempts + 1, now + delay, error)
        return done

    def _attempt(self, out: OutboundEmail, msg: EmailMessage, now: float) -> str | None:
        """One delivery attempt. None when it is settled (sent, or refused for good and
        reported); otherwise the temporary error, for a retry."""
        try:
            self.send(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= c < 600 for c in codes):
                log.error("SMTP refused the recipient of %s: %s", out.outbound_id, codes)
                self.ledger.drop(out.outbound_id)
                self._report(out, "failed", f"recipient refused: {exc.recipients}")
                return None
            return f"recipient temporarily refused: {codes}"
        except smtplib.SMTPResponseException as exc:
            detail = exc.smtp_error.decode(errors="replace") if exc.smtp_error else ""
            if 500 <= exc.smtp_code < 600:
                log.error("SMTP refused %s permanently: %s", out.outbound_id, exc.smtp_code)
                self.ledger.drop(out.outbound_id)
                self._report(out, "failed", f"{exc.smtp_code} {detail}".strip())
                return None
            return f"{exc.smtp_code} {detail}".strip()[:500]
        except OAuth2Failure as exc:  # no token: queued and retried; the reason names no secret
            return f"SMTP OAuth2: {exc}"[:500]
        except (OSError, smtplib.SMTPException) as exc:
            self._server_down_until = now + self.SERVER_DOWN_PAUSE_S
            return f"SMTP server unavailable: {type(exc).__name__}: {exc}"[:500]
        self._server_down_until = 0.0
        self.ledger.record(out.outbound_id)
        log.info("sent %s to %s", out.outbound_id, out.to)
        self._report(out, "sent", "")
        return None

    def _report(self, out: OutboundEmail, status: str, detail: str) -> None:
        metrics.DELIVERIES.labels(status).inc()
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
            # A dead mailer's partitions move in 10 s, not kafka-python's 45 s; a poll's
            # mail is sent (or queued for retry) well within max_poll_interval_ms.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            max_poll_records=100,
            max_poll_interval_ms=300_000,
            **group_membership(self.settings, "mailer"),
        )
        try:
            while not self.stopping.is_set():
                for tp, records in consumer.poll(timeout_ms=500).items():
                    for r in records:
                        if r.value is not None:
                            self.handle(r.value)
                        if self.stopping.is_set():
                            return
                    # Every record is sent, settled or queued in the ledger by now.
                    consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
                # Bounded, so poll() comes round well within max.poll.interval.ms.
                self.retry_due(budget_s=60.0)
        finally:
            consumer.close(autocommit=False)


def run_mailer(settings: Settings) -> None:
    health.serve(settings.health_port)
    wait_for_broker(settings)  # started while the broker is down: wait, don't exit
    health.set_state("running")
    start_sampler(settings.kafka_bootstrap, settings.mailer_group_id, {settings.topics.outbound})
    mailer = Mailer(settings)
    metrics.RETRY_QUEUE.set_function(mailer.ledger.queue_length)
    mailer.run()
