""" "sent" reaches the shared ledger before the SMTP server reads the dot that ends DATA,
so a mailer killed after the server took a mail leaves nothing for the next owner to
resend; a server that then refuses has the mail written back (queued or failed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kernel.config import Settings
from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from services.mailer.ledger import SentLedger
from services.mailer.worker import Mailer
from tests.fixtures.parts import free_port
from tests.integration.mailer.conftest import ledger_settings


@dataclass
class LedgerWitness:
    """An SMTP server that, on each DATA, asks a second ledger reader (another mailer
    instance, as after a rebalance) whether the mail already counts as sent."""

    settings: Settings
    replies: list[str] = field(default_factory=list)
    seen_at_dot: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        outbound_id = next(
            line.split(b"<", 1)[1].split(b"@", 1)[0].decode()
            for line in content.splitlines()
            if line.lower().startswith(b"message-id:")
        )
        other = SentLedger(self.settings)
        try:
            other.take([0])
            self.seen_at_dot.append((outbound_id, other.seen(outbound_id, 0)))
        finally:
            other.close()
        return self.replies.pop(0) if self.replies else "250 OK"


@pytest.fixture
def witness(
    kafka_bootstrap: str, kafka_topic_prefix: str
) -> Iterator[tuple[Controller, LedgerWitness]]:
    handler = LedgerWitness(ledger_settings(kafka_bootstrap, kafka_topic_prefix))
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _mailer(
    controller: Controller, kafka_bootstrap: str, prefix: str
) -> tuple[Mailer, list[DeliveryReport]]:
    settings = ledger_settings(kafka_bootstrap, prefix).model_copy(
        update={
            "smtp_host": controller.hostname,
            "smtp_port": controller.port,
            "smtp_security": "none",
            "mail_from": "support@company.net",
            "message_id_domain": "desk.test",
        }  # fmt: skip
    )
    reports: list[DeliveryReport] = []
    return Mailer(settings, report=reports.append), reports


def _outbound(outbound_id: str) -> bytes:
    return codec.dumps(
        OutboundEmail(
            outbound_id=outbound_id,
            to="alice@example.org",
            subject="Your ticket",
            text="Hello",
            message_id=f"<{outbound_id}@desk.test>",
        )  # fmt: skip
    )


def _state_seen_by_the_next_owner(settings: Settings, outbound_id: str) -> tuple[bool, bool]:
    other = SentLedger(settings)
    try:
        other.take([0])
        return other.seen(outbound_id, 0), other.queued(outbound_id)
    finally:
        other.close()


def test_the_ledger_says_sent_when_the_server_reads_the_dot(
    witness: tuple[Controller, LedgerWitness], kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    controller, handler = witness
    mailer, reports = _mailer(controller, kafka_bootstrap, kafka_topic_prefix)
    try:
        mailer.handle(_outbound("first"), now=1000.0)
        assert handler.seen_at_dot == [("first", True)]
        assert [(r.outbound_id, r.status) for r in reports] == [("first", "sent")]
        assert _state_seen_by_the_next_owner(handler.settings, "first") == (True, False)
        mailer.handle(_outbound("first"), now=1001.0)  # redelivered: not again
        assert len(handler.seen_at_dot) == 1
    finally:
        mailer.ledger.close()


def test_a_refusal_after_the_dot_writes_the_mail_back(
    witness: tuple[Controller, LedgerWitness], kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    controller, handler = witness
    mailer, reports = _mailer(controller, kafka_bootstrap, kafka_topic_prefix)
    first = mailer.settings.mailer_retry_first_s
    try:
        handler.replies = ["451 4.3.0 busy", "451 4.3.0 still busy"]
        mailer.handle(_outbound("later"), now=1000.0)
        # The next owner would retry it, not take it for sent.
        assert _state_seen_by_the_next_owner(handler.settings, "later") == (False, True)
        assert mailer.retry_due(now=1000.0 + first) == 0  # refused again at the dot
        assert _state_seen_by_the_next_owner(handler.settings, "later") == (False, True)
        entry = mailer.ledger.entry("later")
        assert entry is not None and entry.attempts == 2 and entry.error.startswith("451")
        assert mailer.retry_due(now=entry.next_at) == 1
        assert _state_seen_by_the_next_owner(handler.settings, "later") == (True, False)

        handler.replies = ["554 5.7.1 no"]
        mailer.handle(_outbound("refused"), now=2000.0)
        assert _state_seen_by_the_next_owner(handler.settings, "refused") == (True, False)
        assert [o for o, _ in handler.seen_at_dot] == ["later", "later", "later", "refused"]
        assert all(sent for _, sent in handler.seen_at_dot)
        assert [(r.outbound_id, r.status) for r in reports] == [
            ("later", "deferred"), ("later", "sent"), ("refused", "failed"),
        ]  # fmt: skip
    finally:
        mailer.ledger.close()
