"""A mailer that lost its partition without knowing it sends nothing of it (the chaos
run's "notices sent twice"): two mailer processes on the real broker, one frozen
(SIGSTOP) inside an SMTP transaction, its dot sent, with more of its partition's mail
fetched behind it. Past the session timeout the other takes the partition and sends
the rest of it, not the mail whose dot went out (the ledger has it as sent). When the
frozen one wakes, it still holds those records and believes it owns the partition,
but the group coordinator refuses its ownership check (services.mailer.fence), so it
sends none of them; the server answers its held mail with a 451, so it writes that
mail back to the ledger as queued, and the owner sends it. Every mail arrives once.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.fixtures.smtp import SmtpSink
from tests.integration.mailer.procs import (
    Gate,
    MailerProc,
    mailer_env,
    outbound,
    split_between,
    until,
)

pytestmark = pytest.mark.serial  # bounds on a session timeout and a rebalance

PARTITIONS = 2
SESSION_S = 6.0  # the broker's smallest group session timeout
RETRY_S = 60.0  # no retry in the test's time: a deferred mail stays queued


def test_a_frozen_mailer_that_lost_its_partition_sends_none_of_its_mail(
    kafka_bootstrap: str, kafka_topic_prefix: str, smtp_sink: SmtpSink, tmp_path: Path,
    procs: list[MailerProc],
) -> None:  # fmt: skip
    topics, env = mailer_env(kafka_bootstrap, kafka_topic_prefix, smtp_sink, tmp_path,
                             PARTITIONS, SESSION_S, RETRY_S)  # fmt: skip
    gate = Gate(smtp_sink)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=50)

    def send(ids: range, partition: int) -> None:
        for i in ids:
            producer.send(topics["outbound"], outbound(i), key=f"client{i}".encode(),
                          partition=partition)  # fmt: skip
        producer.flush()

    a = MailerProc("a", env, tmp_path, static=True)  # static members, as in production
    b = MailerProc("b", env, tmp_path, static=True)
    procs += [a, b]
    until(split_between(PARTITIONS, a, b), 30, "both mailers own a partition", procs)
    (part,) = a.owned()  # type: ignore[misc]

    # A holds its partition's first mail in an SMTP transaction, the rest fetched behind it.
    gate.mode = "hold"
    first = range(0, 6)
    send(first, part)
    until(lambda: gate.held == 1, 15, "A inside an SMTP transaction", procs)
    a.pause()
    gate.held_answer = "451 4.3.0 Try again later"  # what A reads when it wakes
    gate.mode = "open"

    # Past the session timeout B owns both partitions and sends A's mail, and more.
    until(lambda: b.owned() == list(range(PARTITIONS)), 30, "B took A's partition", procs)
    gate.held_answer = None
    during = range(6, 10)
    send(during, part)
    # All but A's held mail: its dot went out, so the ledger has it as sent.
    held = 1
    smtp_sink.wait_for(len(first) + len(during) - held, timeout=20)
    time.sleep(1.0)
    assert len(smtp_sink.messages) == len(first) + len(during) - held
    assert "no longer the owner" not in a.log()

    # A wakes: the fetched mail is B's, and the deferred one goes back to B's queue.
    a.resume()
    until(split_between(PARTITIONS, a, b), 40, "A rejoined and owns a partition", procs)
    after = range(10, 16)
    for offset, partition in enumerate(range(PARTITIONS)):
        send(range(after.start + offset, after.stop, PARTITIONS), partition)
    total = after.stop
    smtp_sink.wait_for(total, timeout=20)
    producer.close()

    time.sleep(2.0)  # a late duplicate would show up here
    counts = Counter(m.message["Message-ID"] for m in smtp_sink.messages)
    assert counts == Counter({f"<o{i}@desk.test>": 1 for i in range(total)})
    # Nothing queued for a retry either: the deferred mail went, and by B.
    assert a.retry_queue() == 0 and b.retry_queue() == 0
    assert "no longer the owner" in a.log()  # A did hold mail it was no longer to send
