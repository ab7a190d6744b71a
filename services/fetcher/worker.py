"""The fetcher: take new mail from each gateway, publish it, then mark it.

A mail is marked read (or deleted) only after the broker acknowledged it
(acks=all, idempotent producer). A crash in between leaves it unseen; the next
poll publishes it again under the same email id, and every consumer drops the
repeat.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaProducer

from schemas import codec
from schemas.events import GatewayEntry, GatewaySnapshot, MailSource
from schemas.raw import make_raw_email
from services.fetcher.directory import read_gateways
from services.fetcher.imap import ImapMailbox
from services.fetcher.maildir import LocalMaildir
from supportdesk.blobs import BlobStore
from supportdesk.config import Settings
from supportdesk.crypto import decrypt

log = logging.getLogger(__name__)


@dataclass
class GatewayHealth:
    last_success: float | None = None
    last_error: str = ""
    consecutive_failures: int = 0
    mails_taken: int = 0
    next_poll: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


def make_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=1024 * 1024,
    )


class Fetcher:
    def __init__(self, settings: Settings, *, ca_file: str | None = None) -> None:
        self.settings = settings
        self.blobs = BlobStore(settings.blob_dir)
        self.producer = make_producer(settings)
        self.ca_file = ca_file or settings.ca_file
        self.health: dict[str, GatewayHealth] = {}
        self.stopping = threading.Event()

    def snapshot(self, entry: GatewayEntry) -> GatewaySnapshot:
        return GatewaySnapshot(
            address=entry.address,
            department_id=entry.department_id,
            extra_addresses=entry.extra_addresses,
        )

    def _send(self, entry: GatewayEntry, source: MailSource, data: bytes) -> object:
        raw = make_raw_email(
            gateway_id=entry.gateway_id,
            gateway=self.snapshot(entry),
            source=source,
            data=data,
            blobs=self.blobs,
            inline_limit=self.settings.inline_limit_bytes,
        )
        return self.producer.send(
            self.settings.topics.raw, key=entry.gateway_id.encode(), value=codec.dumps(raw)
        )

    def fetch_maildir(self, entry: GatewayEntry) -> int:
        """One poll of a local Maildir gateway."""
        maildir = LocalMaildir(entry.maildir_path)
        pending = []
        for mail in maildir.new():
            source = MailSource(protocol="maildir", filename=mail.filename)
            pending.append((mail.filename, self._send(entry, source, mail.data)))
        self.producer.flush(timeout=60)
        for _, future in pending:
            future.get(timeout=60)
        maildir.mark_done([name for name, _ in pending], entry.after_fetch)
        return len(pending)

    def fetch_imap(self, entry: GatewayEntry) -> int:
        """One poll of one IMAP gateway; returns how many mails were taken."""
        mailbox = ImapMailbox(
            entry, decrypt(self.settings, entry.password_encrypted), ca_file=self.ca_file
        )
        taken = 0
        try:
            pending: list[tuple[int, object]] = []
            for mail in mailbox.unseen():
                source = MailSource(
                    protocol="imap",
                    mailbox=entry.folder,
                    uidvalidity=mailbox.uidvalidity,
                    uid=mail.uid,
                )
                future = self._send(entry, source, mail.data)
                pending.append((mail.uid, future))
                if len(pending) >= 200:
                    taken += self._confirm(mailbox, entry, pending)
                    pending = []
            taken += self._confirm(mailbox, entry, pending)
        finally:
            mailbox.close()
        return taken

    def _confirm(self, mailbox: ImapMailbox, entry: GatewayEntry, pending: list) -> int:
        if not pending:
            return 0
        self.producer.flush(timeout=60)
        acked = []
        for uid, future in pending:
            future.get(timeout=60)  # raises: nothing is marked, the next poll retries
            acked.append(uid)
        mailbox.mark_done(acked, entry.after_fetch)
        return len(acked)

    def poll_gateway(self, entry: GatewayEntry) -> None:
        h = self.health.setdefault(entry.gateway_id, GatewayHealth())
        try:
            if entry.protocol == "imap":
                n = self.fetch_imap(entry)
            elif entry.protocol == "maildir":
                n = self.fetch_maildir(entry)
            else:
                raise NotImplementedError(f"{entry.protocol} gateways are not supported yet")
            h.mails_taken += n
            h.last_success = time.time()
            h.consecutive_failures = 0
            h.next_poll = time.time() + entry.poll_interval_s
            if n:
                log.info("gateway %s: %d mail(s) published", entry.name, n)
        except Exception as exc:  # one failing gateway never stops the others
            h.consecutive_failures += 1
            h.last_error = f"{type(exc).__name__}: {exc}"
            delay = min(entry.poll_interval_s, 2 ** min(h.consecutive_failures, 8))
            h.next_poll = time.time() + delay
            log.warning("gateway %s failed (%s); retry in %ss", entry.name, h.last_error, delay)

    def run(self, *, once: bool = False, refresh_s: float = 30.0) -> None:
        topic = self.settings.topics.gateways
        gateways = read_gateways(self.settings.kafka_bootstrap, topic)
        refreshed = time.time()
        while not self.stopping.is_set():
            now = time.time()
            if now - refreshed > refresh_s:
                gateways = read_gateways(self.settings.kafka_bootstrap, topic)
                refreshed = now
            for entry in gateways.values():
                h = self.health.setdefault(entry.gateway_id, GatewayHealth())
                if entry.enabled and (once or h.next_poll <= now):
                    self.poll_gateway(entry)
            if once:
                break
            self.stopping.wait(1.0)
        self.producer.flush(timeout=30)

    def close(self) -> None:
        self.producer.close(timeout=10)
