"""A slow SMTP server never keeps the mailer from polling: records of one poll are
handled for at most Mailer.BATCH_BUDGET_S, the rest comes again with the next poll,
each mail sent once (a mailer that stopped polling would be dropped from its group
while still sending, and its partitions' new owner would send the same mail)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.errors import CoordinatorNotAvailableError, NotCoordinatorError

from kernel.config import Settings, Topics
from kernel.topics import create_missing, topic_config_for
from schemas.events import DeliveryReport
from services.mailer.worker import Mailer
from tests.fixtures.smtp import SmtpSink
from tests.integration.mailer.test_mailer import _reply


def test_a_slow_server_cuts_the_batch_and_every_mail_goes_once(
    smtp_sink: SmtpSink, kafka_bootstrap: str, kafka_topic_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    inner = smtp_sink._handler.handle_DATA  # noqa: SLF001 - wrapping the sink's own hook

    async def slow(server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.3)
        return await inner(server, session, envelope)

    smtp_sink._handler.handle_DATA = slow  # type: ignore[method-assign]  # noqa: SLF001
    topics = Topics(outbound=f"{kafka_topic_prefix}outbound", sent=f"{kafka_topic_prefix}sent")
    create_missing(kafka_bootstrap, {topics.outbound: topic_config_for("outbound")}, 1)
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap, topics=topics, smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port, mailer_group_id=f"{kafka_topic_prefix}mailer",
    )  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for i in range(6):
        producer.send(topics.outbound, _reply(outbound_id=f"s{i}", message_id=f"<s{i}@desk.test>"))
    producer.flush()
    producer.close()
    reports: list[DeliveryReport] = []
    m = Mailer(settings, report=reports.append)
    m.BATCH_BUDGET_S = 0.5  # two or three mails a poll
    caplog.set_level(logging.INFO, logger="services.mailer")  # the group loop logs the cut
    worker = threading.Thread(target=m.run, daemon=True)
    worker.start()
    try:
        got = smtp_sink.wait_for(6, timeout=30)
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        committed, deadline = None, time.monotonic() + 15
        while committed != 6 and time.monotonic() < deadline:
            try:
                offsets = admin.list_group_offsets(settings.mailer_group_id)
            except (CoordinatorNotAvailableError, NotCoordinatorError):
                offsets = {}
            found = offsets.get(settings.mailer_group_id, {}).get(
                TopicPartition(topics.outbound, 0)
            )
            committed = found.offset if found is not None else None
            time.sleep(0.2)
        admin.close()
    finally:
        m.stopping.set()
        worker.join(15)
    time.sleep(0.5)  # a late repeat would show here
    counts = Counter(g.message["Message-ID"] for g in smtp_sink.messages)
    assert counts == Counter({f"<s{i}@desk.test>": 1 for i in range(6)}) and len(got) == 6
    assert committed == 6
    assert any("left for the next poll" in r.getMessage() for r in caplog.records)
    assert sorted(r.outbound_id for r in reports) == [f"s{i}" for i in range(6)]
