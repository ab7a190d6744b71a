"""`supportdesk lmtp`: the aiosmtpd LMTP server in front of `mail.raw`.

RCPT: a gateway address is accepted, any other is 550, and before the gateway directory
is read every recipient is 451 (a guess would bounce real mail). DATA: the mail goes to
`mail.raw` (large mail through the claim check) and each recipient gets its own reply, as
LMTP requires: 250 once the broker acknowledged, 451 when it did not.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import Envelope, Session

from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.directory import GatewayFeed
from schemas.events import GatewayEntry
from services.lmtp.delivery import (
    NOT_LOADED,
    RCPT_OK,
    GatewayAddresses,
    plan_delivery,
    unknown_recipient,
)
from services.lmtp.options import LmtpOptions
from services.lmtp.publisher import BrokerUnavailable, RawPublisher

log = logging.getLogger(__name__)


class GatewayLMTP(LMTP):
    """aiosmtpd's LMTP, with one reply per recipient on the refusals aiosmtpd makes itself
    after DATA (too much data, a line too long): it answers those once, for everyone."""

    # Long lines are the sender's fault, not a reason to refuse the whole mail (aiosmtpd: 1001).
    line_length_limit = 256 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._after_data = False

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            if status.startswith("354"):
                self._after_data = True
            elif self._after_data:
                self._after_data = False
                # Our handler joins its replies itself; aiosmtpd's own refusals are one line.
                if "\r\n" not in status and self.envelope is not None:
                    status = "\r\n".join([status] * max(1, len(self.envelope.rcpt_tos)))
        await super().push(status)


class _Controller(Controller):
    def factory(self) -> LMTP:
        return GatewayLMTP(self.handler, **self.SMTP_kwargs)


class LmtpHandler:
    """aiosmtpd's handler hooks; the blocking work (blobs, the broker) runs in a thread pool."""

    def __init__(
        self,
        settings: Settings,
        options: LmtpOptions,
        publisher: RawPublisher,
        blobs: BlobStore,
    ) -> None:
        self.settings = settings
        self.options = options
        self.publisher = publisher
        self.blobs = blobs
        self.addresses: GatewayAddresses | None = None  # None until the directory is read
        self.executor = ThreadPoolExecutor(options.max_sessions, thread_name_prefix="lmtp")
        self.delivered = 0
        self.deferred = 0

    def set_gateways(self, gateways: dict[str, GatewayEntry]) -> None:
        table = GatewayAddresses(gateways.values())
        if self.addresses is None or table.by_address != self.addresses.by_address:
            log.info("LMTP gateways: %s", ", ".join(sorted(table.by_address)) or "(none)")
        self.addresses = table

    async def handle_RCPT(
        self,
        server: LMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        table = self.addresses
        if table is None:
            return NOT_LOADED
        if table.gateway_for(address) is None:
            log.info("RCPT %s refused: not a gateway address", address)
            return unknown_recipient(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return RCPT_OK

    async def handle_DATA(self, server: LMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        answers = await loop.run_in_executor(
            self.executor, self.deliver, envelope.mail_from or "", list(envelope.rcpt_tos), data
        )
        return "\r\n".join(answers)

    def deliver(self, mail_from: str, recipients: list[str], data: bytes) -> list[str]:
        """Publish one DATA; the per-recipient replies (blocking, in the pool)."""
        started = time.monotonic()
        plan = plan_delivery(
            mail_from=mail_from,
            recipients=recipients,
            data=data,
            gateways=self.addresses or GatewayAddresses(()),
            blobs=self.blobs,
            inline_limit=self.settings.inline_limit_bytes,
            max_bytes=self.options.max_message_bytes,
        )
        published = True
        try:
            self.publisher.publish(plan.raws)
        except BrokerUnavailable as exc:
            published = False
            self.deferred += 1
            log.warning("mail from <%s> deferred: broker unavailable (%s)", mail_from, exc)
        if published and plan.raws:
            self.delivered += 1
            log.info(
                "mail from <%s> (%d bytes) on %s as %s in %.0f ms",
                mail_from,
                len(data),
                self.settings.topics.raw,
                ", ".join(r.email_id for r in plan.raws),
                (time.monotonic() - started) * 1000,
            )
        return plan.answers(published)


class LmtpGateway:
    """The server, its directory feed and its producer, started and stopped together."""

    def __init__(self, settings: Settings, options: LmtpOptions | None = None) -> None:
        self.settings = settings
        self.options = options or LmtpOptions()
        assert settings.blob_dir is not None
        self.publisher = RawPublisher(settings, self.options.ack_timeout_s)
        self.handler = LmtpHandler(
            settings, self.options, self.publisher, BlobStore(settings.blob_dir)
        )
        self.feed = GatewayFeed(
            settings.kafka_bootstrap, settings.topics.gateways, on_change=self.handler.set_gateways
        )
        self.controller = _Controller(
            self.handler,
            hostname=self.options.host,
            port=self.options.port,
            server_hostname=self.options.server_name,
            data_size_limit=self.options.max_message_bytes,
            # Mail with UTF-8 addresses: without it, Postfix bounces such mail for good.
            enable_SMTPUTF8=True,
            ident="Supportdesk LMTP",
        )

    def start(self) -> LmtpGateway:
        self.feed.start()
        self.controller.start()
        log.info(
            "LMTP gateway on %s:%d (SIZE %d) -> %s",
            self.options.host,
            self.options.port,
            self.options.max_message_bytes,
            self.settings.topics.raw,
        )
        return self

    def stop(self) -> None:
        self.controller.stop()
        self.feed.stop()
        self.handler.executor.shutdown(wait=True)
        self.publisher.close()


def run_lmtp(
    settings: Settings,
    stop: threading.Event | None = None,
    options: LmtpOptions | None = None,
) -> None:
    """Serve until `stop` is set (or KeyboardInterrupt / SIGTERM in the CLI)."""
    gateway = LmtpGateway(settings, options).start()
    stop = stop or threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        gateway.stop()
