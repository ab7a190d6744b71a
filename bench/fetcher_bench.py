"""Fetcher throughput on one mailbox of 5,000 mails, next to a bulk imapclient fetch.

Both read the same Dovecot mailbox over IMAPS in the same run: the bulk fetch
(BODY.PEEK[], 500 per FETCH, nothing else) is the ceiling; the fetcher also
builds RawEmails, publishes them in Kafka transactions (acks=all) with its
state, and marks every mail \\Seen. Run: `.venv/bin/python -m bench fetcher_bench`
(starts its own broker unless SUPPORTDESK_KAFKA_BOOTSTRAP is set).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from bench.broker import bench_broker

if TYPE_CHECKING:
    from devtools.dovecot import DovecotServer

MAILS = int(os.environ.get("FETCHER_BENCH_MAILS", "5000"))


def bulk_fetch(server: DovecotServer, user: str, password: str, expected: int) -> tuple[float, int]:
    """Seconds and bytes to fetch all of INBOX with BODY.PEEK[], 500 per FETCH, over IMAPS.

    The ceiling for any fetcher. Dovecot indexes a new Maildir on the first
    SELECT: that happens before the clock starts (a fetcher would not pay it twice).
    """
    client = server.imap(user, password, tls="ssl", timeout=120)
    client._imap.debug = 0  # as the fetcher runs it (services.fetcher.imap.quiet_imaplib)
    try:
        client.select_folder("INBOX")
        uids = client.search("ALL")
        if len(uids) != expected:
            raise AssertionError(f"{len(uids)} mails in {user}'s INBOX, expected {expected}")
        t0 = time.monotonic()
        got = 0
        for i in range(0, len(uids), 500):
            for data in client.fetch(uids[i : i + 500], ["BODY.PEEK[]"]).values():
                got += len(data[b"BODY[]"])
        return time.monotonic() - t0, got
    finally:
        client.logout()


def warm_transactions(bootstrap: str) -> None:
    """A fresh broker creates its transaction log for the first transactional producer:
    done before the clock starts, as a broker in service has it (and as the e2e bench does)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="bench-warm-up")
    try:
        producer.init_transactions()
    finally:
        producer.close(timeout=10)


def main() -> int:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from devtools.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
    from devtools.mail import create_topics, imap_entry, mail
    from kernel.blobs import BlobStore
    from kernel.config import Settings, Topics
    from services.fetcher.gateway import GatewayRunner
    from services.fetcher.options import FetcherOptions

    tmp = Path(tempfile.mkdtemp(prefix="fetcher-bench-"))
    bootstrap, broker = bench_broker(tmp)
    server = DovecotServer()
    try:
        server.add_user(DEFAULT_USER, DEFAULT_PASSWORD)
        server.start()
        total = sum(map(len, (mail(i, size=9000) for i in range(10)))) * MAILS // 10
        server.deliver_many(DEFAULT_USER, (mail(i, size=9000) for i in range(MAILS)))
        print(f"{MAILS} mails, about {total / 1e6:.0f} MB, in one Dovecot mailbox (IMAPS)")
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        topics = Topics(**{k: f"{prefix}.{v}" for k, v in Topics().model_dump().items()})
        settings = Settings(
            kafka_bootstrap=bootstrap,
            blob_dir=tmp / "blobs",
            secret_key=SecretStr(Fernet.generate_key().decode()),
            topics=topics,
        )
        create_topics(bootstrap, topics)

        warm_transactions(bootstrap)
        bulk_s, got = bulk_fetch(server, DEFAULT_USER, DEFAULT_PASSWORD, MAILS)
        bulk_rate = MAILS / bulk_s

        entry = imap_entry(settings, server, poll_interval_s=300)
        first: list[float] = []

        def hook(event: str, _gateway_id: str) -> None:
            if event == "committed" and not first:
                first.append(time.monotonic())

        runner = GatewayRunner(
            entry,
            settings,
            FetcherOptions(hook=hook),
            blobs=BlobStore(settings.blob_dir),
            ca_file=str(server.ca_path),
        )
        t0 = time.monotonic()
        cpu0 = time.process_time()  # the whole process: the producer's IO thread too
        try:
            runner.start()
            start_s = time.monotonic() - t0
            taken = 0
            while taken < MAILS:
                n = runner.poll_once()
                if n == 0:
                    break
                taken += n
        finally:
            runner.close()
        fetch_s = time.monotonic() - t0
        cpu_s = time.process_time() - cpu0
        assert taken == MAILS, taken
        seen = sum("\\Seen" in f for f in server.flags(DEFAULT_USER).values())
        assert seen == MAILS, seen
        rate = MAILS / fetch_s
        print(
            f"bulk imapclient fetch : {bulk_rate:8.0f} mails/s ({bulk_s:.2f}s, {got / 1e6:.0f} MB)"
        )
        print(
            f"fetcher (publish+mark): {rate:8.0f} mails/s ({fetch_s:.2f}s; Kafka transactions of "
            f"200, acks=all, \\Seen after commit)"
        )
        print(f"ratio fetcher/bulk    : {rate / bulk_rate:.2f}")
        print(
            f"fetcher CPU           : {cpu_s:.2f}s ({cpu_s * 5000 / MAILS:.2f}s per 5,000 mails); "
            f"start {start_s:.3f}s, first commit {first[0] - t0:.3f}s"
        )
        from kafka.record import util

        native = util.crc32c_c is not None
        print(
            "kafka-python CRC32C  : "
            + ("native (crc32c package)" if native else "pure Python (pip install crc32c: ~7x)")
        )
        return 0
    finally:
        server.cleanup()
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    raise SystemExit(main())
