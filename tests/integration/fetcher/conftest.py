"""Shared set-up for fetcher tests: isolated topics on the real broker, gateway entries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition
from pydantic import SecretStr

from kernel.config import Settings, Topics
from kernel.crypto import encrypt
from schemas import codec
from schemas.events import GatewayEntry, RawEmail
from services.fetcher.options import FetcherOptions
from services.fetcher.state import STATE_TOPIC_CONFIG
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer

PARTITIONS = 4


def mail(i: int, *, to: str = "support@company.net", size: int = 0, tag: str = "") -> bytes:
    """A plain client mail; ``size`` pads the body to roughly that many bytes."""
    msg = EmailMessage()
    msg["From"] = f"client{i}@example.org"
    msg["To"] = to
    msg["Subject"] = f"request {tag}{i}"
    msg["Message-ID"] = f"<req-{tag}{i}-{uuid.uuid4().hex[:8]}@example.org>"
    body = f"mail number {i}\n"
    if size > len(body):
        line = "x" * 76 + "\n"
        body += line * ((size - len(body)) // len(line))
    msg.set_content(body)
    return bytes(msg)


def fast_options(**overrides: object) -> FetcherOptions:
    """Short timeouts so failure and rebalance tests finish in seconds."""
    base: dict[str, object] = dict(
        backoff_base_s=0.2,
        backoff_cap_s=2.0,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        stop_timeout_s=20.0,
        timeout_s=10.0,
        health_every_s=1.0,
    )
    base.update(overrides)
    return FetcherOptions(**base)  # type: ignore[arg-type]


def create_topics(bootstrap: str, topics: Topics) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        compacted = {"cleanup.policy": "compact"}
        admin.create_topics(
            {
                topics.raw: {"num_partitions": PARTITIONS},
                topics.gateways: {"num_partitions": PARTITIONS, "configs": compacted},
                topics.fetcher_state: {"num_partitions": PARTITIONS, "configs": STATE_TOPIC_CONFIG},
            },
            wait_for_metadata=True,
        )
    finally:
        admin.close()


@pytest.fixture
def fetch_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings with this test's own topics, blob dir and Fernet key."""
    prefix = f"ft{uuid.uuid4().hex[:10]}"
    topics = Topics(**{k: f"{prefix}.{v}" for k, v in Topics().model_dump().items()})
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        blob_dir=tmp_path / "blobs",
        secret_key=SecretStr(Fernet.generate_key().decode()),
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        topics=topics,
        topic_partitions=PARTITIONS,
    )
    create_topics(kafka_bootstrap, topics)
    return settings


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


def wait_for(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def fetchers(fetch_settings: Settings) -> Iterator[list]:
    """Fetchers started by a test are stopped (and their threads joined) at teardown."""
    started: list = []
    yield started
    for stop in started:
        stop()
