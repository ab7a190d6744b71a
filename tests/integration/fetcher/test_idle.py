"""IMAP IDLE: mail saved into the mailbox reaches mail.raw within seconds, not a poll interval."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas import codec
from schemas.events import RawEmail
from schemas.raw import raw_bytes
from services.fetcher.gateway import GatewayRunner
from tests.fixtures.dovecot import DEFAULT_USER, DovecotServer
from tests.integration.fetcher.conftest import PARTITIONS, fast_options, imap_entry, mail, wait_for

MAILS = 100

# Latency bounds (p99 < 2 s): alone on the machine (make test's serial pass).
pytestmark = pytest.mark.serial


def test_idle_latency_p50_p99_over_100_mails(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    # poll_interval 300 s: anything faster than that is IDLE's doing.
    entry = imap_entry(fetch_settings, dovecot, poll_interval_s=300)
    r = GatewayRunner(
        entry,
        fetch_settings,
        fast_options(),
        blobs=BlobStore(fetch_settings.blob_dir),
        ca_file=str(dovecot.ca_path),
    )
    consumer = KafkaConsumer(
        bootstrap_servers=fetch_settings.kafka_bootstrap,
        group_id=None,
        isolation_level="read_committed",
        fetch_max_wait_ms=10,
    )
    tps = [TopicPartition(fetch_settings.topics.raw, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_end(*tps)
    t = threading.Thread(target=r.run)
    t.start()
    blobs = BlobStore(fetch_settings.blob_dir)
    latencies: list[float] = []
    try:
        wait_for(lambda: r.health.idle, 20, "the runner in IDLE")
        for i in range(MAILS):
            marker = f"idle-{i}-".encode()
            t0 = time.monotonic()
            dovecot.save(DEFAULT_USER, mail(i, tag="idle-"))
            found = False
            while not found:
                assert time.monotonic() - t0 < 10, f"mail {i} not on mail.raw after 10 s"
                for records in consumer.poll(timeout_ms=20).values():
                    for rec in records:
                        raw = codec.loads(RawEmail, rec.value)
                        if marker in raw_bytes(raw, blobs):
                            found = True
            latencies.append(time.monotonic() - t0)
    finally:
        r.stop_event.set()
        t.join(30)
        consumer.close()
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), q[98]
    print(
        f"\nIDLE latency over {MAILS} mails: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    assert len(latencies) == MAILS
    assert p99 < 2.0, latencies
