"""IMAP gateways against a real Dovecot and a real broker."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import pytest

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas.raw import raw_bytes
from services.fetcher.gateway import GatewayRunner
from services.fetcher.state import GatewayHealth, load_state
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.parts import write_test_pki
from tests.integration.fetcher.conftest import (
    fast_options,
    imap_entry,
    mail,
    read_raw,
    wait_for,
)


def runner(settings: Settings, server: DovecotServer, entry, **opts) -> GatewayRunner:
    return GatewayRunner(
        entry,
        settings,
        fast_options(**opts),
        blobs=BlobStore(settings.blob_dir),
        ca_file=str(server.ca_path),
    )


def test_mark_read_publishes_each_mail_once_then_marks_it(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    sent = [mail(i) for i in range(3)]
    for m in sent:
        dovecot.save(DEFAULT_USER, m)
    entry = imap_entry(fetch_settings, dovecot)
    r = runner(fetch_settings, dovecot, entry)
    try:
        assert r.poll_once() == 3
        assert r.poll_once() == 0
    finally:
        r.close()
    raws = read_raw(fetch_settings)
    assert len({x.email_id for x in raws}) == len(raws) == 3
    blobs = BlobStore(fetch_settings.blob_dir)
    assert sorted(raw_bytes(x, blobs).replace(b"\r\n", b"\n") for x in raws) == sorted(
        m.replace(b"\r\n", b"\n") for m in sent
    )
    assert all(x.source.protocol == "imap" and x.source.uidvalidity for x in raws)
    flags = dovecot.flags(DEFAULT_USER)
    assert len(flags) == 3 and all("\\Seen" in f for f in flags.values())
    state = load_state(
        fetch_settings.kafka_bootstrap, fetch_settings.topics.fetcher_state, entry.gateway_id
    )
    assert state is not None and state.mails_taken == 3 and state.high_uid == max(flags)


def test_delete_removes_mail_after_the_broker_acked(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    for i in range(4):
        dovecot.save(DEFAULT_USER, mail(i))
    r = runner(fetch_settings, dovecot, imap_entry(fetch_settings, dovecot, after_fetch="delete"))
    try:
        assert r.poll_once() == 4
    finally:
        r.close()
    assert dovecot.count(DEFAULT_USER) == 0
    assert len({x.email_id for x in read_raw(fetch_settings)}) == 4


def test_starttls_with_the_test_ca(fetch_settings: Settings, dovecot: DovecotServer) -> None:
    dovecot.save(DEFAULT_USER, mail(1))
    entry = imap_entry(fetch_settings, dovecot, security="starttls", port=dovecot.imap_port)
    r = runner(fetch_settings, dovecot, entry)
    try:
        assert r.poll_once() == 1
    finally:
        r.close()
    assert len(read_raw(fetch_settings)) == 1


def test_wrong_ca_fails_verification_and_changes_nothing(
    fetch_settings: Settings, dovecot: DovecotServer, tmp_path: Path
) -> None:
    dovecot.save(DEFAULT_USER, mail(1))
    other = write_test_pki(tmp_path / "other-ca")
    entry = imap_entry(fetch_settings, dovecot)
    r = GatewayRunner(
        entry,
        fetch_settings,
        fast_options(),
        blobs=BlobStore(fetch_settings.blob_dir),
        ca_file=str(other.ca_path),
    )
    try:
        with pytest.raises(Exception) as info:
            r.poll_once()
        message = r.record_failure(info.value)
    finally:
        r.close()
    assert message.startswith("TLS certificate verification failed")
    assert r.health.consecutive_failures == 1 and r.health.status == "failing"
    assert read_raw(fetch_settings) == []
    assert all("\\Seen" not in f for f in dovecot.flags(DEFAULT_USER).values())


def test_wrong_password_is_reported_and_never_logged(
    fetch_settings: Settings, dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dovecot.save(DEFAULT_USER, mail(1))
    wrong = "Wr0ng-Pa55word-xyzzy"
    seen: list[GatewayHealth] = []
    entry = imap_entry(fetch_settings, dovecot, password=wrong)
    r = GatewayRunner(
        entry,
        fetch_settings,
        fast_options(),
        blobs=BlobStore(fetch_settings.blob_dir),
        ca_file=str(dovecot.ca_path),
        health_sink=seen.append,
    )
    t = threading.Thread(target=r.run)
    t.start()
    try:
        wait_for(lambda: r.health.consecutive_failures >= 3, 30, "three failed polls")
    finally:
        r.stop_event.set()
        t.join(30)
    assert not t.is_alive()
    assert "login failed" in r.health.last_error
    assert "AUTHENTICATIONFAILED" in r.health.last_error or "Authentication" in r.health.last_error
    assert all(wrong not in h.model_dump_json() for h in seen)
    assert wrong not in caplog.text
    assert read_raw(fetch_settings) == []


def test_mark_failure_after_publish_never_publishes_twice(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    for i in range(5):
        dovecot.save(DEFAULT_USER, mail(i))
    entry = imap_entry(fetch_settings, dovecot)

    def fail_once(event: str, gateway_id: str) -> None:
        if event == "committed" and not failed:
            failed.append(1)
            raise ConnectionResetError("simulated drop between publish and mark")

    failed: list[int] = []
    r = runner(fetch_settings, dovecot, entry, hook=fail_once)
    with pytest.raises(ConnectionResetError):
        r.poll_once()
    r.close()
    assert all("\\Seen" not in f for f in dovecot.flags(DEFAULT_USER).values())
    # A new runner (another fetcher, after a restart) reads the state and only marks.
    r2 = runner(fetch_settings, dovecot, entry)
    try:
        assert r2.poll_once() == 0
    finally:
        r2.close()
    assert all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values())
    raw_all = read_raw(fetch_settings, committed=False)
    assert len(raw_all) == len({x.email_id for x in raw_all}) == 5


def test_mail_read_by_another_client_is_still_taken(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    entry = imap_entry(fetch_settings, dovecot)
    r = runner(fetch_settings, dovecot, entry)
    try:
        assert r.poll_once() == 0  # sets the watermark
        dovecot.save(DEFAULT_USER, mail(1))
        other = dovecot.imap()
        other.select_folder("INBOX")
        other.add_flags(other.search("ALL"), [b"\\Seen"])  # a person read it first
        other.logout()
        assert r.poll_once() == 1
    finally:
        r.close()
    assert len(read_raw(fetch_settings)) == 1


def test_25mb_mail_goes_through_the_blob_store(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    big = mail(1, size=25 * 1024 * 1024)
    dovecot.save(DEFAULT_USER, big)
    r = runner(fetch_settings, dovecot, imap_entry(fetch_settings, dovecot))
    try:
        assert r.poll_once() == 1
    finally:
        r.close()
    (raw,) = read_raw(fetch_settings)
    assert raw.blob_ref and raw.raw_b64 is None and raw.size >= 25 * 1024 * 1024
    data = raw_bytes(raw, BlobStore(fetch_settings.blob_dir))
    assert hashlib.sha256(data).hexdigest() == raw.sha256
    assert data.replace(b"\r\n", b"\n") == big.replace(b"\r\n", b"\n")


def test_server_restart_mid_poll_loses_and_doubles_nothing(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    dovecot.deliver_many(DEFAULT_USER, (mail(i) for i in range(60)))
    restarted: list[int] = []

    def restart_once(event: str, gateway_id: str) -> None:
        if event == "committed" and not restarted:
            restarted.append(1)
            dovecot.restart()  # after publish, before mark: the mark hits a dead socket

    entry = imap_entry(fetch_settings, dovecot)
    r = runner(fetch_settings, dovecot, entry, batch_mails=10, hook=restart_once)
    t = threading.Thread(target=r.run)
    t.start()
    try:
        wait_for(lambda: len(read_raw(fetch_settings)) >= 60, 60, "60 mails on mail.raw")
        wait_for(
            lambda: all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values()),
            30,
            "every mail marked",
        )
    finally:
        r.stop_event.set()
        t.join(30)
    assert restarted and r.health.last_error  # the restart really hurt a poll
    raw_all = read_raw(fetch_settings, committed=False)
    assert len(raw_all) == len({x.email_id for x in raw_all}) == 60
    assert DEFAULT_PASSWORD not in r.health.last_error
