"""The SMTP sink receives what smtplib sends (plain, AUTH, STARTTLS, SMTPS, failures)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from tests.fixtures.smtp import SmtpSink

pytestmark = pytest.mark.integration


def make_reply() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "support@company.net"
    msg["To"] = "customer@example.org"
    msg["Subject"] = "Re: Printer on fire [#42]"
    msg.set_content("We are on it.")
    return msg


def test_sink_receives_plain_smtp(smtp_sink: SmtpSink) -> None:
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as s:
        s.send_message(make_reply(), to_addrs=["customer@example.org", "cc@example.org"])
    (got,) = smtp_sink.wait_for(1, timeout=5)
    assert got.mail_from == "support@company.net"
    assert got.rcpt_tos == ("customer@example.org", "cc@example.org")
    assert got.message["Subject"] == "Re: Printer on fire [#42]"
    assert got.message.get_content().strip() == "We are on it."
    assert b"We are on it." in got.data
    assert got.auth_user is None
    assert not got.tls


def test_wait_for_times_out(smtp_sink: SmtpSink) -> None:
    with pytest.raises(AssertionError, match="expected 1"):
        smtp_sink.wait_for(1, timeout=0.1)


def test_starttls_and_auth_login(smtp_sink_factory: Callable[..., SmtpSink]) -> None:
    sink = smtp_sink_factory(username="mailer", password="pw", tls="starttls")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as s:
        s.starttls(context=ssl.create_default_context(cafile=str(sink.ca_path)))
        s.ehlo()
        s.login("mailer", "pw")  # smtplib tries CRAM-MD5, PLAIN, LOGIN
        s.send_message(make_reply())
    (got,) = sink.wait_for(1)
    assert got.auth_user == "mailer"
    assert got.tls


def test_auth_login_mechanism_explicitly(smtp_sink_factory: Callable[..., SmtpSink]) -> None:
    sink = smtp_sink_factory(username="mailer", password="pw")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as s:
        s.ehlo()
        s.user, s.password = "mailer", "pw"
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235
        s.send_message(make_reply())
    assert sink.wait_for(1)[0].auth_user == "mailer"


def test_auth_required_and_wrong_password_rejected(
    smtp_sink_factory: Callable[..., SmtpSink],
) -> None:
    sink = smtp_sink_factory(username="mailer", password="pw")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("mailer", "nope")
        with pytest.raises(smtplib.SMTPSenderRefused):
            s.send_message(make_reply())
    assert sink.messages == []


def test_implicit_tls_verifies_with_test_ca(smtp_sink_factory: Callable[..., SmtpSink]) -> None:
    sink = smtp_sink_factory(tls="ssl")
    with smtplib.SMTP_SSL(sink.host, sink.port, context=sink.client_ssl_context(), timeout=5) as s:
        s.send_message(make_reply())
    assert sink.wait_for(1)[0].tls


def test_fail_next_gives_temporary_failure(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next("451 4.3.0 Try again later")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.send_message(make_reply())
        assert err.value.smtp_code == 451
        s.send_message(make_reply())
    assert len(smtp_sink.wait_for(1)) == 1
