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

import asyncio
import re
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from devtools.pipeline import ServiceProcess
from kernel.topics import create_missing, topic_config_for
from schemas import codec
from schemas.events import OutboundEmail
from tests.fixtures.parts import free_port
from tests.fixtures.smtp import SmtpSink

REPO = Path(__file__).resolve().parents[3]
PARTITIONS = 4
SESSION_S = 6.0  # the broker's smallest group session timeout
RETRY_S = 10.0  # first retry; longer than the session timeout plus a rebalance


class Gate:
    """In front of the sink's DATA: open, hold (the client waits; a client that dies
    meanwhile gets no 250 and nothing is recorded) or refuse (451)."""

    def __init__(self, sink: SmtpSink) -> None:
        self.mode = "open"
        self.held = 0
        inner = sink._handler.handle_DATA  # noqa: SLF001 - wrapping the sink's own hook

        async def handle_DATA(server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            if self.mode == "refuse":
                return "451 4.3.0 Try again later"
            if self.mode == "hold":
                self.held += 1
                try:  # aiosmtpd cancels this when the client goes away
                    while self.mode == "hold":
                        await asyncio.sleep(0.05)
                finally:
                    self.held -= 1
            return await inner(server, session, envelope)

        sink._handler.handle_DATA = handle_DATA  # type: ignore[method-assign]  # noqa: SLF001


class MailerProc(ServiceProcess):
    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        super().__init__("mailer", {**env, "SUPPORTDESK_HEALTH_PORT": str(self.port)},
                         workdir, name, stop_s=20)  # fmt: skip

    def owned(self) -> list[int] | None:
        """The partitions it says it owns last, None before its first assignment."""
        found = re.findall(r"ledger: .*; own \[([\d, ]*)\]", self.log())
        return [int(p) for p in found[-1].split(",") if p.strip()] if found else None

    def retry_queue(self) -> float:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            text = resp.read().decode()
        return float(re.search(r"^supportdesk_mailer_retry_queue (\S+)$", text, re.M)[1])  # type: ignore[index]


def until(check: Callable[[], bool], timeout: float, what: str, procs: list[MailerProc]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.log()[-2500:]}" for p in procs)
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.1)


def outbound(i: int) -> bytes:
    return codec.dumps(
        OutboundEmail(
            outbound_id=f"o{i}", to=f"client{i}@example.org", subject=f"Re: case {i}",
            text="Answered.", message_id=f"<o{i}@desk.test>",
        )
    )  # fmt: skip


@pytest.fixture
def procs() -> Iterator[list[MailerProc]]:
    started: list[MailerProc] = []
    yield started
    for p in started:
        p.stop()


def test_two_mailers_kills_and_a_refusing_server_every_mail_exactly_once(
    kafka_bootstrap: str, kafka_topic_prefix: str, smtp_sink: SmtpSink, tmp_path: Path,
    procs: list[MailerProc],
) -> None:  # fmt: skip
    pre = kafka_topic_prefix
    topics = {"outbound": f"{pre}outbound", "sent": f"{pre}sent", "delivery": f"{pre}delivery"}
    create_missing(
        kafka_bootstrap, {name: topic_config_for(field) for field, name in topics.items()},
        PARTITIONS,
    )  # fmt: skip
    env = {
        "SUPPORTDESK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SUPPORTDESK_MAILER_GROUP_ID": f"{pre}mailer",
        "SUPPORTDESK_SMTP_HOST": smtp_sink.host,
        "SUPPORTDESK_SMTP_PORT": str(smtp_sink.port),
        "SUPPORTDESK_MESSAGE_ID_DOMAIN": "desk.test",
        "SUPPORTDESK_MAILER_SESSION_TIMEOUT_S": str(SESSION_S),
        "SUPPORTDESK_MAILER_RETRY_FIRST_S": str(RETRY_S),
        "SUPPORTDESK_VAR_DIR": str(tmp_path / "var"),
        **{f"SUPPORTDESK_TOPICS__{field.upper()}": name for field, name in topics.items()},
    }
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
