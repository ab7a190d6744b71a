"""The mailer's tests keep their sent ledger on the real broker, in a scratch topic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.config import Settings, Topics
from services.mailer.ledger import SentLedger
from tests.integration.mailer.procs import MailerProc


def ledger_settings(kafka_bootstrap: str, prefix: str) -> Settings:
    """A scratch one-partition ledger topic (and outbound topic name) on the broker."""
    topics = Topics(sent=f"{prefix}sent", outbound=f"{prefix}outbound")
    return Settings(kafka_bootstrap=kafka_bootstrap, topics=topics, topic_partitions=1)


@pytest.fixture
def ledger(kafka_bootstrap: str, kafka_topic_prefix: str) -> Iterator[SentLedger]:
    led = SentLedger(ledger_settings(kafka_bootstrap, kafka_topic_prefix))
    yield led
    led.close()


@pytest.fixture
def procs() -> Iterator[list[MailerProc]]:
    """Mailer processes a test starts; each is stopped at the end, whatever happened."""
    started: list[MailerProc] = []
    yield started
    for p in started:
        p.stop()
