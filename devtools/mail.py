"""Mail, topics and gateway entries for fetcher tests and benchmarks."""

from __future__ import annotations

import time
import uuid
from email.message import EmailMessage

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from devtools.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from kernel.config import Settings, Topics
from kernel.crypto import encrypt
from schemas import codec
from schemas.events import GatewayEntry, RawEmail
from services.fetcher.state import STATE_TOPIC_CONFIG

PARTITIONS = 4


def mail(
    i: int,
    *,
    to: str = "support@company.net",
    size: int = 0,
    tag: str = "",
    sender: str | None = None,
) -> bytes:
    """A plain client mail; ``size`` pads the body to roughly that many bytes.

    The sender is ``client<i>@example.org`` unless ``sender`` names one.
    """
    msg = EmailMessage()
    msg["From"] = sender or f"client{i}@example.org"
    msg["To"] = to
    msg["Subject"] = f"request {tag}{i}"
    msg["Message-ID"] = f"<req-{tag}{i}-{uuid.uuid4().hex[:8]}@example.org>"
    body = f"mail number {i}\n"
    if size > len(body):
        line = "x" * 76 + "\n"
        body += line * ((size - len(body)) // len(line))
    msg.set_content(body)
    return bytes(msg)


def unique_topics(prefix: str) -> Topics:
    """Every topic of Topics() under ``prefix.``, so runs sharing a broker never meet."""
    return Topics(**{name: f"{prefix}.{value}" for name, value in Topics().model_dump().items()})


def create_topics(bootstrap: str, topics: Topics, partitions: int = PARTITIONS) -> None:
    """The fetcher's topics: mail.raw, the gateway directory and the fetcher state."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        compacted = {"cleanup.policy": "compact"}
        admin.create_topics(
            {
                topics.raw: {"num_partitions": partitions},
                topics.gateways: {"num_partitions": partitions, "configs": compacted},
                topics.fetcher_state: {"num_partitions": partitions, "configs": STATE_TOPIC_CONFIG},
            },
            wait_for_metadata=True,
        )
    finally:
        admin.close()


def imap_entry(
    settings: Settings, server: DovecotServer, *, name: str = "imap", **kw: object
) -> GatewayEntry:
    """An IMAPS gateway on the test Dovecot (TLS verified with its CA by default)."""
    fields: dict[str, object] = dict(
        gateway_id=uuid.uuid4().hex[:16],
        name=name,
        type="external",
        protocol="imap",
        host="127.0.0.1",
        port=server.imaps_port,
        security="tls",
        username=DEFAULT_USER,
        password_encrypted=encrypt(settings, DEFAULT_PASSWORD),
        address="support@company.net",
        department_id=1,
        poll_interval_s=10,
    )
    password = kw.pop("password", None)
    if password is not None:
        fields["password_encrypted"] = encrypt(settings, str(password))
    fields.update(kw)
    return GatewayEntry(**fields)  # type: ignore[arg-type]


def pop3_entry(
    settings: Settings, server: DovecotServer, *, name: str = "pop3", **kw: object
) -> GatewayEntry:
    kw.setdefault("port", server.pop3s_port)
    return imap_entry(settings, server, name=name, protocol="pop3", **kw)


def publish_gateways(settings: Settings, *entries: GatewayEntry) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for e in entries:
        producer.send(settings.topics.gateways, key=e.gateway_id.encode(), value=codec.dumps(e))
    producer.flush(30)
    producer.close()


def read_raw(settings: Settings, *, committed: bool = True) -> list[RawEmail]:
    """Everything on mail.raw (committed transactions only, unless asked otherwise)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
    )
    try:
        parts = consumer.partitions_for_topic(settings.topics.raw) or set(range(PARTITIONS))
        tps = [TopicPartition(settings.topics.raw, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        probe = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
        end = probe.end_offsets(tps) if not committed else consumer.end_offsets(tps)
        probe.close()
        out: list[RawEmail] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end[tp] for tp in tps):
            assert time.monotonic() < deadline, "mail.raw not read to its end in 60s"
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(codec.loads(RawEmail, r.value) for r in records)
        return out
    finally:
        consumer.close()
