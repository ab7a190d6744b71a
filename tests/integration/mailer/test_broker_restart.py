"""Two mailers through a broker SIGKILL, as in the chaos run: mail flowing, the broker
killed, one mailer killed and started again under its instance name while the broker
is down, the broker back after a few seconds and mail flowing again while the group
sorts out who owns what. The surviving mailer's member is gone from the reloaded group
("member_id was not recognized") while the new B takes every partition; before the
ownership check (services.mailer.fence) the survivor went on sending the mail of the
partitions it believed it owned (16 of 60 twice here; 5 notices twice in the chaos
run). Every mail must arrive once.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from supportdesk.broker import LocalBroker
from tests.fixtures.parts import free_port, starting
from tests.fixtures.smtp import SmtpSink
from tests.integration.mailer.procs import MailerProc, mailer_env, outbound, split_between, until

pytestmark = pytest.mark.serial  # its own broker, killed; bounds on recovery

PARTITIONS = 4
SESSION_S = 6.0
RETRY_S = 10.0
OUTAGE_S = 8.0  # the chaos run's


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    b = LocalBroker(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    with starting("Kafka (own broker)"):
        b.start()
        b.wait_ready(120)
    yield b
    b.stop()


def test_two_mailers_through_a_broker_kill_send_every_mail_once(
    broker: LocalBroker, kafka_topic_prefix: str, smtp_sink: SmtpSink, tmp_path: Path,
    procs: list[MailerProc],
) -> None:  # fmt: skip
    topics, env = mailer_env(broker.bootstrap, kafka_topic_prefix, smtp_sink, tmp_path,
                             PARTITIONS, SESSION_S, RETRY_S)  # fmt: skip

    def send(ids: range, gap_s: float = 0.0) -> None:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        for i in ids:
            producer.send(topics["outbound"], outbound(i), key=f"client{i}".encode(),
                          partition=i % PARTITIONS)  # fmt: skip
            if gap_s:
                producer.flush()
                time.sleep(gap_s)
        producer.flush()
        producer.close()

    a = MailerProc("a", env, tmp_path, static=True)
    b = MailerProc("b", env, tmp_path, static=True)
    procs += [a, b]
    until(split_between(PARTITIONS, a, b), 30, "both mailers own partitions", procs)
    before = range(0, 30)
    send(before, gap_s=0.02)
    smtp_sink.wait_for(len(before), timeout=30)
    # ... and in the ledger ("sent" is logged after the write): a mailer SIGKILLed between
    # the server's 250 and its ledger write repeats that one mail, by design.
    recorded = [f"sent o{i} " for i in before]
    until(lambda: all(r in a.log() + b.log() for r in recorded), 10, "all recorded", procs)

    # The broker dies; B dies with it and is started again while the broker is away.
    pid = broker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    broker.startup_seconds = None  # a killed JVM leaves no class-data archive
    broker.stop()
    b.kill9()
    b2 = MailerProc("b", env, tmp_path, static=True, log_name="b2")
    procs.append(b2)
    time.sleep(OUTAGE_S)
    broker.start()
    broker.wait_ready(120)

    # Mail again at once, while the group sorts itself out.
    after = range(len(before), len(before) + 60)
    send(after, gap_s=0.1)
    total = after.stop
    smtp_sink.wait_for(total, timeout=60)
    time.sleep(2.0)  # a late duplicate would show up here
    counts = Counter(m.message["Message-ID"] for m in smtp_sink.messages)
    assert counts == Counter({f"<o{i}@desk.test>": 1 for i in range(total)})
    until(split_between(PARTITIONS, a, b2), 40, "A and the new B share the partitions", procs)
