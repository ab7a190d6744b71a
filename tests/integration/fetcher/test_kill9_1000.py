"""kill -9 of the fetcher between publish and mark-read, on 1,000 mails."""

from __future__ import annotations

from pathlib import Path

from kernel.config import Settings
from tests.fixtures.dovecot import DEFAULT_USER, DovecotServer
from tests.integration.fetcher.conftest import (
    imap_entry,
    mail,
    publish_gateways,
    read_raw,
    wait_for,
)
from tests.integration.fetcher.procs import FetcherProc, fetcher_env

MAILS = 1000


def test_kill9_between_publish_and_mark_on_1000_mails(
    fetch_settings: Settings, dovecot: DovecotServer, tmp_path: Path
) -> None:
    dovecot.deliver_many(DEFAULT_USER, (mail(i, tag="k9-") for i in range(MAILS)))
    entry = imap_entry(fetch_settings, dovecot)
    publish_gateways(fetch_settings, entry)
    # The first fetcher SIGKILLs itself right after its 2nd commit: 400 mails on
    # mail.raw, 200 of them marked, 200 not.
    env = fetcher_env(fetch_settings, str(dovecot.ca_path), batch_mails=200, first_batch_mails=200)
    first = FetcherProc({**env, "SUPPORTDESK_FETCHER_FAULT": "kill-after-commit:2"}, tmp_path, "f1")
    try:
        first.proc.wait(120)
    finally:
        first.stop()
    assert first.proc.returncode == -9, first.log()
    flags = dovecot.flags(DEFAULT_USER)
    assert sum("\\Seen" in f for f in flags.values()) == 200
    assert len(read_raw(fetch_settings)) == 400

    second = FetcherProc(env, tmp_path, "f2")
    try:
        wait_for(
            lambda: all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values()),
            90,
            "every mail marked read",
        )
    finally:
        second.stop()
    committed = read_raw(fetch_settings)
    everything = read_raw(fetch_settings, committed=False)
    # Each mail once under one email id, even counting records of aborted transactions.
    assert len(committed) == len({r.email_id for r in committed}) == MAILS
    assert len(everything) == MAILS
    assert {r.source.uid for r in committed} == set(dovecot.flags(DEFAULT_USER))
