"""The mailer: mail.outbound to SMTP, each outbound email sent at most once in effect,
by as many mailer instances as there are outbound partitions.

The Message-ID is derived from the outbound id, and the shared sent ledger
(services.mailer.ledger, the compacted mail.sent topic) is checked before sending and
written just before the dot that ends the SMTP DATA (services.mailer.smtp), so a
redelivered record is not sent again, by this instance or by the one that owns the
partition after a rebalance, even when the process is killed between the server's
250 and anything after it. The trade: a kill in the microseconds between the ledger's
ack and the dot loses that mail; a server that refuses after the dot, or a connection
that breaks before its answer, has the mail written back as queued (retried; the
repeat, if the server had taken it, carries the same Message-ID) or failed.

A temporary failure (4xx, server down) never holds the partition: the mail is queued
in the same ledger, the offset committed, and the queue retried with backoff between
polls, as an MTA would, until it is sent, refused for good, or too old
(`mailer_give_up_s`). The queue belongs to the partition, so when an instance dies
the instance that takes its partitions retries its queued mail.

Only the partition's owner sends: before each send the mailer proves to the group
coordinator that it still owns the partition (services.mailer.fence) and reads what an
earlier owner wrote to the ledger meanwhile; a member that lost the partition without
knowing it yet leaves the mail to the owner.

Each outcome goes out on mail.delivery (schemas.events.DeliveryReport) so the
store can record on the message whether it was sent, deferred or failed.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage

from kafka import KafkaProducer
from pydantic import ValidationError

from kernel import health
from kernel.config import Settings
from kernel.kafka import reliable_producer, wait_for_broker
from kernel.lag import start_sampler
from kernel.oauth2.records import KafkaTokenStore
from kernel.oauth2.tokens import OAuth2Failure, TokenManager, mechanism, oauthbearer, xoauth2
from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from services.mailer import metrics
from services.mailer import smtp as smtp_client
from services.mailer.fence import Fenced
from services.mailer.ledger import Queued, SentLedger
from services.mailer.message import Undeliverable, build_message, message_id_for, recipient
from services.mailer.recipients import envelope

__all__ = ["Mailer", "Undeliverable", "build_message", "message_id_for", "recipient"]

log = logging.getLogger(__name__)


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
    # Records of one poll handled for at most this long (a slow SMTP server takes up to
    # its timeout per mail): the rest waits for the next poll, so the instance polls
    # within max.poll.interval and is never dropped from the group while it still sends
    # (its partitions' new owner would then send the same mail).
    BATCH_BUDGET_S = 120.0
    REFRESH_S = 1.0  # how often the owned ledger partitions are checked for others' writes

    def __init__(
        self, settings: Settings, report: Reporter | None = None, ledger: SentLedger | None = None
    ) -> None:
        self.settings = settings
        self.ledger = ledger or SentLedger(settings)
        self.stopping = threading.Event()
        self.report: Reporter = report or KafkaReporter(settings)
        self._server_down_until = 0.0
        self._refresh_at = 0.0
        self.tokens: TokenManager | None = None  # set on first use when sending with OAuth2

    def send(self, msg: EmailMessage, before_dot: Callable[[], None] | None = None) -> None:
        """One SMTP transaction; ``before_dot`` runs between the message and its final dot
        (services.mailer.smtp). A failed QUIT after the server's 250 is no failure."""
        s = self.settings
        ctx = ssl.create_default_context(cafile=s.ca_file)
        cls = smtp_client.SMTP_SSL if s.smtp_security == "tls" else smtp_client.SMTP
        kwargs = {"context": ctx} if s.smtp_security == "tls" else {}
        smtp = cls(s.smtp_host, s.smtp_port, timeout=30, **kwargs)
        try:
            if s.smtp_security == "starttls":
                smtp.starttls(context=ctx)
            if s.smtp_oauth2_gateway:
                self._xoauth2(smtp)
            elif s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.before_dot = before_dot
            # The envelope: the checked To and Cc (`recipients.envelope`), never Bcc or others.
            smtp.send_message(msg, to_addrs=envelope(msg))
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
            smtp.close()

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

    def handle(self, value: bytes, now: float | None = None, partition: int = 0) -> None:
        """One mail.outbound record (from ``partition``): sent, refused, or queued for a
        retry; never blocks long. Raises Fenced, having sent nothing, when this instance
        cannot show that it owns the partition."""
        now = time.time() if now is None else now
        try:
            out = codec.loads(OutboundEmail, value)
        except ValidationError as exc:
            log.error("unreadable outbound email dropped: %s", exc.errors()[:2])
            return
        if self.ledger.seen(out.outbound_id, partition) or self.ledger.queued(out.outbound_id):
            return
        try:
            msg = build_message(out, self.settings)
        except (Undeliverable, ValueError) as exc:
            log.error("outbound %s refused: %s", out.outbound_id, exc)
            self._report(out, "failed", str(exc))
            return
        # Only the partition's owner sends or queues (else Fenced, to the caller), and
        # only what no earlier owner sent or queued meanwhile.
        self.ledger.claim(partition)
        if self.ledger.seen(out.outbound_id, partition) or self.ledger.queued(out.outbound_id):
            return
        if now < self._server_down_until:
            error = "SMTP server unreachable at the last attempt"
        else:
            error = self._attempt(out, msg, now, partition)
            if error is None:
                return
        first_retry = self.settings.mailer_retry_first_s
        self.ledger.enqueue(out.outbound_id, partition, value, now, now + first_retry, error)
        log.warning(
            "outbound %s deferred (%s); retry in %.0fs", out.outbound_id, error, first_retry
        )
        self._report(out, "deferred", error)

    def retry_due(self, now: float | None = None, budget_s: float = 60.0) -> int:
        """Retry queued mail that is due, for at most about ``budget_s``; returns how many
        left the queue (sent, refused or given up). The queue of a partition this instance
        cannot show it owns is left to the owner."""
        start = time.monotonic()
        now = time.time() if now is None else now
        if start >= self._refresh_at:  # mail another instance wrote back to an owned partition
            self._refresh_at = start + self.REFRESH_S
            self.ledger.refresh_owned()
        done = 0
        fenced: set[int] = set()
        for entry in self.ledger.due(now):
            if self.stopping.is_set() or time.monotonic() - start > budget_s:
                break
            if now < self._server_down_until:
                break  # still down: leave the rest for later
            if entry.partition in fenced:
                continue
            try:
                done += self._retry(entry.outbound_id, entry.partition, now)
            except Fenced:
                fenced.add(entry.partition)
        return done

    def _retry(self, outbound_id: str, partition: int, now: float) -> int:
        """One attempt at a queued mail: 1 if it left the queue."""
        self.ledger.claim(partition)  # an earlier owner may have sent or moved it meanwhile
        entry = self.ledger.entry(outbound_id)
        if entry is None or entry.next_at > now:
            return 0
        attempts = entry.attempts
        out = codec.loads(OutboundEmail, entry.payload)
        try:
            msg = build_message(out, self.settings)
        except (Undeliverable, ValueError) as exc:  # e.g. an attachment gone meanwhile
            self.ledger.drop(outbound_id, partition)
            self._report(out, "failed", str(exc))
            return 1
        error = self._attempt(out, msg, now, partition)
        if error is None:
            return 1
        age = now - entry.first_at
        if age >= self.settings.mailer_give_up_s:
            self.ledger.drop(outbound_id, partition)
            log.error("outbound %s given up after %d attempts", outbound_id, attempts + 1)
            self._report(
                out, "failed", f"gave up after {attempts + 1} attempts in {age / 3600:.1f} h:"
                f" {error}"
            )  # fmt: skip
            return 1
        delay = min(
            self.settings.mailer_retry_first_s * 2**attempts, self.settings.mailer_retry_max_s
        )
        self.ledger.reschedule(outbound_id, attempts + 1, now + delay, error)
        return 0

    def _attempt(
        self, out: OutboundEmail, msg: EmailMessage, now: float, partition: int
    ) -> str | None:
        """One delivery attempt. None when it is settled (sent, or refused for good and
        reported); otherwise the temporary error, for a retry."""
        # "sent" is written just before the final dot (services.mailer.smtp); if the server
        # then does not take the mail, it is written back before the queue or the refusal.
        marked: list[Queued | None] = []

        def before_dot() -> None:
            self.ledger.fence(partition)  # still the owner, right before the commit point
            marked.append(self.ledger.record(out.outbound_id, partition))

        try:
            try:
                self.send(msg, before_dot)
            except BaseException:
                if marked:
                    payload = codec.dumps(out)
                    self.ledger.unrecord(out.outbound_id, partition, marked[0], payload, now)
                raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= c < 600 for c in codes):
                log.error("SMTP refused the recipient of %s: %s", out.outbound_id, codes)
                self.ledger.drop(out.outbound_id, partition)
                self._report(out, "failed", f"recipient refused: {exc.recipients}")
                return None
            return f"recipient temporarily refused: {codes}"
        except smtplib.SMTPResponseException as exc:
            detail = exc.smtp_error.decode(errors="replace") if exc.smtp_error else ""
            if 500 <= exc.smtp_code < 600:
                log.error("SMTP refused %s permanently: %s", out.outbound_id, exc.smtp_code)
                self.ledger.drop(out.outbound_id, partition)
                self._report(out, "failed", f"{exc.smtp_code} {detail}".strip())
                return None
            return f"{exc.smtp_code} {detail}".strip()[:500]
        except OAuth2Failure as exc:  # no token: queued and retried; the reason names no secret
            return f"SMTP OAuth2: {exc}"[:500]
        except (OSError, smtplib.SMTPException) as exc:
            self._server_down_until = now + self.SERVER_DOWN_PAUSE_S
            return f"SMTP server unavailable: {type(exc).__name__}: {exc}"[:500]
        self._server_down_until = 0.0
        if not marked:  # not through DATA (never so with smtplib); the record all the same
            self.ledger.record(out.outbound_id, partition)
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
        """In the consumer group, until ``stopping`` is set (services.mailer.group)."""
        from services.mailer.group import consume

        consume(self)


def run_mailer(settings: Settings) -> None:
    health.serve(settings.health_port)
    wait_for_broker(settings)  # started while the broker is down: wait, don't exit
    health.set_state("running")
    start_sampler(settings.kafka_bootstrap, settings.mailer_group_id, {settings.topics.outbound})
    mailer = Mailer(settings)
    metrics.RETRY_QUEUE.set_function(mailer.ledger.queue_length)
    mailer.run()
