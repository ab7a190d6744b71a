"""The Dovecot fixture really serves IMAP/POP3 with the behaviour the fetcher relies on."""

from __future__ import annotations

import imaplib
import poplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient

from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.parts import write_test_pki

pytestmark = pytest.mark.integration


def make_mail(subject: str = "Printer on fire", body: str = "Please help.") -> bytes:
    msg = EmailMessage()
    msg["From"] = "customer@example.org"
    msg["To"] = DEFAULT_USER
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    msg.set_content(body)
    return msg.as_bytes()


def test_imap_plain_login(dovecot: DovecotServer) -> None:
    with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=5) as c:
        c.login(DEFAULT_USER, DEFAULT_PASSWORD)
        assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_imap_starttls_verifies_with_test_ca(dovecot: DovecotServer) -> None:
    with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=5) as c:
        assert b"STARTTLS" in c.capabilities()
        c.starttls(ssl.create_default_context(cafile=str(dovecot.ca_path)))
        c.login(DEFAULT_USER, DEFAULT_PASSWORD)
        c.select_folder("INBOX")


def test_imaps_verifies_with_test_ca_by_name_and_ip(dovecot: DovecotServer) -> None:
    ctx = ssl.create_default_context(cafile=str(dovecot.ca_path))
    for host in ("localhost", "127.0.0.1"):
        with IMAPClient(host, port=dovecot.imaps_port, ssl=True, ssl_context=ctx, timeout=5) as c:
            c.login(DEFAULT_USER, DEFAULT_PASSWORD)
            c.select_folder("INBOX")


def test_imaps_with_wrong_ca_fails_verification(dovecot: DovecotServer, tmp_path) -> None:
    other = write_test_pki(tmp_path)
    ctx = ssl.create_default_context(cafile=str(other.ca_path))
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot.host, port=dovecot.imaps_port, ssl=True, ssl_context=ctx, timeout=5)


def test_imap_wrong_password_fails(dovecot: DovecotServer) -> None:
    with (
        IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=5) as c,
        pytest.raises(imaplib.IMAP4.error),
    ):
        c.login(DEFAULT_USER, "wrong")


def test_pop3_plain_stls_and_pop3s_login_and_uidl(dovecot: DovecotServer) -> None:
    dovecot.save(DEFAULT_USER, make_mail("one"))
    dovecot.save(DEFAULT_USER, make_mail("two"))
    ctx = ssl.create_default_context(cafile=str(dovecot.ca_path))

    plain = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=5)
    plain.user(DEFAULT_USER)
    plain.pass_(DEFAULT_PASSWORD)
    uidls = plain.uidl()[1]
    plain.quit()
    assert len(uidls) == 2

    stls = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=5)
    stls.stls(ctx)
    stls.user(DEFAULT_USER)
    stls.pass_(DEFAULT_PASSWORD)
    assert stls.uidl()[1] == uidls  # UIDLs are stable across sessions
    stls.quit()

    secure = poplib.POP3_SSL(dovecot.host, dovecot.pop3s_port, context=ctx, timeout=5)
    secure.user(DEFAULT_USER)
    secure.pass_(DEFAULT_PASSWORD)
    assert secure.stat()[0] == 2
    assert secure.uidl()[1] == uidls
    secure.quit()


def test_saved_mail_is_visible_over_imap(dovecot: DovecotServer) -> None:
    dovecot.save(DEFAULT_USER, make_mail("hello"))
    dovecot.save(DEFAULT_USER, make_mail("archived"), folder="Archive")
    assert dovecot.count(DEFAULT_USER) == 1
    assert dovecot.count(DEFAULT_USER, "Archive") == 1
    with dovecot.imap(tls="starttls") as c:
        c.select_folder("INBOX", readonly=True)
        (uid,) = c.search("ALL")
        data = c.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    assert b"Subject: hello" in data
    assert dovecot.flags(DEFAULT_USER) == {uid: frozenset()}  # PEEK left it unseen


def test_deliver_many_bulk_maildir(dovecot: DovecotServer) -> None:
    n = dovecot.deliver_many(DEFAULT_USER, [make_mail(f"bulk {i}") for i in range(50)])
    assert n == 50
    assert dovecot.count(DEFAULT_USER) == 50
    with dovecot.imap() as c:
        c.select_folder("INBOX", readonly=True)
        assert len(c.search("UNSEEN")) == 50


def test_add_user_after_start(dovecot: DovecotServer) -> None:
    dovecot.add_user("sales@company.net", "s3cret")
    with dovecot.imap("sales@company.net", "s3cret") as c:
        c.select_folder("INBOX")
    dovecot.add_user("sales@company.net", "changed")
    with dovecot.imap("sales@company.net", "changed") as c:
        c.select_folder("INBOX")


def _pop3_retr_all_and_quit(server: DovecotServer) -> None:
    pop = poplib.POP3(server.host, server.pop3_port, timeout=5)
    pop.user(DEFAULT_USER)
    pop.pass_(DEFAULT_PASSWORD)
    for i in range(1, pop.stat()[0] + 1):
        pop.retr(i)
    pop.quit()


def test_pop3_retr_quit_marks_seen_by_default(dovecot: DovecotServer) -> None:
    dovecot.save(DEFAULT_USER, make_mail())
    _pop3_retr_all_and_quit(dovecot)
    assert all("\\Seen" in f for f in dovecot.flags(DEFAULT_USER).values())


def test_pop3_no_flag_updates_leaves_mail_unseen(
    dovecot_factory: Callable[..., DovecotServer],
) -> None:
    server = dovecot_factory(pop3_no_flag_updates=True)
    server.save(DEFAULT_USER, make_mail())
    _pop3_retr_all_and_quit(server)
    flags = server.flags(DEFAULT_USER)
    assert len(flags) == 1
    assert all("\\Seen" not in f for f in flags.values())


def test_plaintext_refused_off_loopback_when_disabled(
    dovecot_factory: Callable[..., DovecotServer],
) -> None:
    server = dovecot_factory(disable_plaintext_auth=True, listen="127.0.0.2")
    with IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=5) as c:
        assert b"LOGINDISABLED" in c.capabilities()
        c.starttls(server.ssl_context())
        c.login(DEFAULT_USER, DEFAULT_PASSWORD)


def test_restart_keeps_mail_and_ports(dovecot: DovecotServer) -> None:
    dovecot.save(DEFAULT_USER, make_mail())
    ports = (dovecot.imap_port, dovecot.imaps_port, dovecot.pop3_port, dovecot.pop3s_port)
    dovecot.restart()
    assert ports == (dovecot.imap_port, dovecot.imaps_port, dovecot.pop3_port, dovecot.pop3s_port)
    with dovecot.imap(tls="ssl") as c:
        assert c.select_folder("INBOX")[b"EXISTS"] == 1


def test_stopped_server_refuses_connections(dovecot: DovecotServer) -> None:
    dovecot.stop()
    with pytest.raises(OSError):
        IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=2)
