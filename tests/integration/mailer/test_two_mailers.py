"""Two mailer processes (`python -m supportdesk.cli mailer`) on the real broker share one
sent ledger and retry queue (the mail.sent topic), against an aiosmtpd sink:

- one is SIGKILLed mid-stream, inside an SMTP transaction: the other takes its
  partitions and sends the rest, resending nothing the dead one had sent;
- a new one joins (a cooperative rebalance), the SMTP server refuses everything, and
  one of the two is SIGKILLed with mail in its retry queue: the other sends that mail
  within one retry interval of the kill.

At the end every outbound email was received exactly once (counted by Message-ID).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaProducer

from tests.fixtures.smtp import SmtpSink
from tests.integration.mailer.procs import Gate, MailerProc, mailer_env, outbound, until

PARTITIONS = 4
SESSION_S = 6.0  # the broker's smallest group session timeout
RETRY_S = 10.0  # first retry; longer than the session timeout plus a rebalance


def test_two_mailers_kills_and_a_refusing_server_every_mail_exactly_once(
    kafka_bootstrap: str, kafka_topic_prefix: str, smtp_sink: SmtpSink, tmp_path: Path,
    procs: list[MailerProc],
) -> None:  # fmt: skip
    topics, env = mailer_env(kafka_bootstrap, kafka_topic_prefix, smtp_sink, tmp_path,
                             PARTITIONS, SESSION_S, RETRY_S)  # fmt: skip
    gate = Gate(smtp_sink)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")

    def send(i: int) -> None:
        producer.send(topics["outbound"], outbound(i), key=f"client{i}".encode(),
                      partition=i % PARTITIONS)  # fmt: skip

    def split_between(*members: MailerProc) -> Callable[[], bool]:
        def check() -> bool:
            owned = [m.owned() for m in members]
            return all(owned) and sorted(sum(owned, [])) == list(range(PARTITIONS))  # type: ignore[arg-type]

        return check

    a, b = MailerProc("a", env, tmp_path), MailerProc("b", env, tmp_path)
    procs += [a, b]
    until(split_between(a, b), 30, "both mailers own partitions", procs)

    # Phase 1: mail flowing; both mailers held inside an SMTP transaction; A dies there.
    streamed = 60

    def stream() -> None:
        for i in range(streamed):
            send(i)
            producer.flush()
            time.sleep(0.04)

    streaming = threading.Thread(target=stream)
    streaming.start()
    until(lambda: len(smtp_sink.messages) >= 10, 20, "the first mails", procs)
    gate.mode = "hold"
    until(lambda: gate.held == 2, 15, "both mailers inside an SMTP transaction", procs)
    a.kill9()
    until(lambda: gate.held == 1, 5, "the dead mailer's transaction dropped", procs)
    gate.mode = "open"
    streaming.join()
    until(lambda: b.owned() == list(range(PARTITIONS)), 25, "B took A's partitions", procs)
    smtp_sink.wait_for(streamed, timeout=20)

    # Phase 2: a new mailer joins; the server refuses; B dies with mail in its queue.
    c = MailerProc("c", env, tmp_path)
    procs.append(c)
    until(split_between(b, c), 30, "B and C share the partitions", procs)
    gate.mode = "refuse"
    queued = range(streamed, streamed + 12)
    for i in queued:
        send(i)
    producer.flush()
    until(lambda: b.retry_queue() + c.retry_queue() == len(queued), 20, "all queued", procs)
    assert b.retry_queue() > 0 and c.retry_queue() > 0
    b.kill9()
    killed_at = time.monotonic()
    gate.mode = "open"
    total = streamed + len(queued)
    smtp_sink.wait_for(total, timeout=RETRY_S + 10)
    took = time.monotonic() - killed_at
    producer.close()

    time.sleep(1.0)  # a late duplicate would show up here
    counts = Counter(m.message["Message-ID"] for m in smtp_sink.messages)
    assert counts == Counter({f"<o{i}@desk.test>": 1 for i in range(total)})
    assert c.owned() == list(range(PARTITIONS))
    # Due RETRY_S after it was queued (just before the kill); C has B's partitions after
    # the session timeout and a rebalance, SESSION_S + a few s: a little slack for load.
    assert took <= RETRY_S + 3, f"B's queued mail went {took:.1f} s after the kill"
