"""POP3 and local Maildir gateways against a real Dovecot and a real broker."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from pathlib import Path

import pytest

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas.events import GatewayEntry
from services.fetcher.gateway import GatewayRunner
from services.fetcher.state import load_state
from tests.fixtures.dovecot import DEFAULT_USER, DovecotServer
from tests.integration.fetcher.conftest import fast_options, mail, pop3_entry, read_raw


def runner(settings: Settings, server: DovecotServer, entry, **opts) -> GatewayRunner:
    return GatewayRunner(
        entry,
        settings,
        fast_options(**opts),
        blobs=BlobStore(settings.blob_dir),
        ca_file=str(server.ca_path),
    )


def test_pop3_with_flag_updates_marks_read_at_quit(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    for i in range(3):
        dovecot.save(DEFAULT_USER, mail(i))
    entry = pop3_entry(fetch_settings, dovecot)
    r = runner(fetch_settings, dovecot, entry)
    try:
        assert r.poll_once() == 3
        assert r.poll_once() == 0  # POP3 still lists them: the UIDL memory says "taken"
    finally:
        r.close()
    raws = read_raw(fetch_settings)
    assert len({x.email_id for x in raws}) == 3
    assert all(x.source.protocol == "pop3" and x.source.uidl for x in raws)
    assert all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values())
    assert dovecot.count(DEFAULT_USER) == 3


def test_pop3_without_flag_updates_yields_no_duplicates_over_five_polls(
    fetch_settings: Settings, dovecot_factory: Callable[..., DovecotServer]
) -> None:
    server = dovecot_factory(pop3_no_flag_updates=True)
    for i in range(3):
        server.save(DEFAULT_USER, mail(i))
    entry = pop3_entry(fetch_settings, server)
    taken = []
    for poll in range(5):
        # Each poll as a fresh fetcher (restart, another machine): memory is on Kafka.
        r = runner(fetch_settings, server, entry)
        try:
            if poll == 2:
                server.save(DEFAULT_USER, mail(99))
            taken.append(r.poll_once())
        finally:
            r.close()
    assert taken == [3, 0, 1, 0, 0]
    # The server never marked anything: the seed's warning reproduced.
    assert all("\\Seen" not in f for f in server.flags(DEFAULT_USER).values())
    raws = read_raw(fetch_settings, committed=False)
    assert len(raws) == len({x.email_id for x in raws}) == 4
    state = load_state(
        fetch_settings.kafka_bootstrap, fetch_settings.topics.fetcher_state, entry.gateway_id
    )
    assert state is not None and len(state.uidls) == 4 and state.mails_taken == 4


def test_pop3_delete_issues_dele_and_quit_after_the_ack(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    for i in range(3):
        dovecot.save(DEFAULT_USER, mail(i))
    entry = pop3_entry(fetch_settings, dovecot, after_fetch="delete")
    events: list[tuple[str, int]] = []

    def spy(event: str, gateway_id: str) -> None:
        events.append((event, dovecot.count(DEFAULT_USER)))

    r = runner(fetch_settings, dovecot, entry, hook=spy)
    try:
        assert r.poll_once() == 3
    finally:
        r.close()
    # At commit time the mail was still there; it went only after QUIT.
    assert events[0] == ("committed", 3)
    assert dovecot.count(DEFAULT_USER) == 0
    assert len(read_raw(fetch_settings)) == 3
    state = load_state(
        fetch_settings.kafka_bootstrap, fetch_settings.topics.fetcher_state, entry.gateway_id
    )
    assert state is not None and state.mails_taken == 3


def test_pop3_crash_before_quit_deletes_later_without_republishing(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    for i in range(3):
        dovecot.save(DEFAULT_USER, mail(i))
    entry = pop3_entry(fetch_settings, dovecot, after_fetch="delete")

    def die(event: str, gateway_id: str) -> None:
        if event == "committed":
            raise ConnectionResetError("connection dropped before DELE/QUIT")

    r = runner(fetch_settings, dovecot, entry, hook=die)
    with pytest.raises(ConnectionResetError):
        r.poll_once()
    r.close()
    assert dovecot.count(DEFAULT_USER) == 3  # no QUIT: the server changed nothing
    r2 = runner(fetch_settings, dovecot, entry)
    try:
        assert r2.poll_once() == 0
    finally:
        r2.close()
    assert dovecot.count(DEFAULT_USER) == 0
    raws = read_raw(fetch_settings, committed=False)
    assert len(raws) == len({x.email_id for x in raws}) == 3


def test_pop3_starttls_and_wrong_password(fetch_settings: Settings, dovecot: DovecotServer) -> None:
    dovecot.save(DEFAULT_USER, mail(1))
    ok = pop3_entry(fetch_settings, dovecot, security="starttls", port=dovecot.pop3_port)
    r = runner(fetch_settings, dovecot, ok)
    try:
        assert r.poll_once() == 1
    finally:
        r.close()
    bad = pop3_entry(fetch_settings, dovecot, name="bad", password="not-the-password-42")
    r = runner(fetch_settings, dovecot, bad)
    try:
        try:
            r.poll_once()
            raise AssertionError("login with a wrong password succeeded")
        except Exception as exc:  # noqa: BLE001 - the message is what is tested
            message = r.record_failure(exc)
    finally:
        r.close()
    assert message.startswith("login failed") and "not-the-password-42" not in message


def _maildir(tmp_path: Path, count: int) -> Path:
    root = tmp_path / "local"
    box = mailbox.Maildir(root, create=True)
    for i in range(count):
        box.add(mailbox.MaildirMessage(mail(i)))
    return root


def test_local_maildir_moves_to_cur_with_seen_flag(
    fetch_settings: Settings, tmp_path: Path
) -> None:
    root = _maildir(tmp_path, 4)
    entry = GatewayEntry(
        gateway_id="localgw1",
        name="local",
        type="local",
        protocol="maildir",
        maildir_path=str(root),
        address="support@company.net",
        department_id=1,
    )
    r = GatewayRunner(
        entry, fetch_settings, fast_options(), blobs=BlobStore(fetch_settings.blob_dir)
    )
    try:
        assert r.poll_once() == 4
        assert r.poll_once() == 0
    finally:
        r.close()
    assert list((root / "new").iterdir()) == []
    cur = sorted(p.name for p in (root / "cur").iterdir())
    assert len(cur) == 4 and all(n.endswith(":2,S") for n in cur)
    raws = read_raw(fetch_settings)
    assert len({x.email_id for x in raws}) == 4


def test_local_maildir_delete(fetch_settings: Settings, tmp_path: Path) -> None:
    root = _maildir(tmp_path, 2)
    entry = GatewayEntry(
        gateway_id="localgw2",
        name="local",
        type="local",
        protocol="maildir",
        maildir_path=str(root),
        address="support@company.net",
        department_id=1,
        after_fetch="delete",
    )
    r = GatewayRunner(
        entry, fetch_settings, fast_options(), blobs=BlobStore(fetch_settings.blob_dir)
    )
    try:
        assert r.poll_once() == 2
    finally:
        r.close()
    assert list((root / "new").iterdir()) == [] and list((root / "cur").iterdir()) == []
    assert len(read_raw(fetch_settings)) == 2
