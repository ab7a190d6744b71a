"""A running fetcher follows directory.gateways: edits restart a gateway, disable/remove stop it."""

from __future__ import annotations

import time
import urllib.request

from kafka import KafkaProducer

from kernel.config import Settings
from services.fetcher.worker import Fetcher, run_in_thread
from tests.fixtures.dovecot import DEFAULT_USER, DovecotServer
from tests.fixtures.parts import free_port
from tests.integration.fetcher.conftest import (
    fast_options,
    imap_entry,
    mail,
    publish_gateways,
    read_raw,
    wait_for,
)


def test_fetcher_follows_edits_disable_and_tombstone_and_exports_metrics(
    fetch_settings: Settings, dovecot: DovecotServer, fetchers: list
) -> None:
    entry = imap_entry(fetch_settings, dovecot, name="followed")
    publish_gateways(fetch_settings, entry)
    port = free_port()
    f = Fetcher(
        fetch_settings, ca_file=str(dovecot.ca_path), options=fast_options(metrics_port=port)
    )
    fetchers.append(run_in_thread(f))
    gid = entry.gateway_id
    wait_for(lambda: gid in f.owned(), 30, "the gateway picked up")

    dovecot.save(DEFAULT_USER, mail(1))
    wait_for(lambda: len(read_raw(fetch_settings)) == 1, 15, "first mail")

    publish_gateways(fetch_settings, entry.model_copy(update={"after_fetch": "delete"}))
    wait_for(lambda: f.owned().get(gid, entry).after_fetch == "delete", 30, "the edit applied")
    dovecot.save(DEFAULT_USER, mail(2))
    wait_for(lambda: len(read_raw(fetch_settings)) == 2, 15, "second mail")
    wait_for(lambda: dovecot.count(DEFAULT_USER) == 1, 15, "second mail deleted")

    publish_gateways(fetch_settings, entry.model_copy(update={"enabled": False}))
    wait_for(lambda: gid not in f.owned(), 30, "the gateway stopped when disabled")
    dovecot.save(DEFAULT_USER, mail(3))
    time.sleep(2)
    assert len(read_raw(fetch_settings)) == 2  # a disabled gateway takes nothing

    publish_gateways(fetch_settings, entry)
    wait_for(lambda: gid in f.owned(), 30, "re-enabled")
    wait_for(lambda: len(read_raw(fetch_settings)) == 3, 15, "the mail saved while disabled")
    producer = KafkaProducer(bootstrap_servers=fetch_settings.kafka_bootstrap)
    producer.send(fetch_settings.topics.gateways, key=gid.encode(), value=None)
    producer.flush(10)
    producer.close()
    wait_for(lambda: gid not in f.owned(), 30, "the gateway stopped after its tombstone")

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    line = next(
        ln
        for ln in body.splitlines()
        if ln.startswith("supportdesk_fetcher_mails_published_total") and gid in ln
    )
    assert line.endswith(" 3.0"), line
    assert any(ln.startswith("supportdesk_fetcher_poll_duration_seconds_count") and gid in ln
               for ln in body.splitlines())  # fmt: skip
    raws = read_raw(fetch_settings)
    assert len({r.email_id for r in raws}) == 3
