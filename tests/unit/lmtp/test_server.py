"""The LMTP conversation itself (aiosmtpd on a loopback port, a stand-in for the broker):
LHLO announces SIZE, RCPT refuses non-gateway addresses, DATA answers once per recipient."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.net import free_port
from kernel.config import Settings
from schemas.events import GatewayEntry, RawEmail
from services.lmtp.options import LmtpOptions
from services.lmtp.publisher import BrokerUnavailable
from services.lmtp.server import LmtpGateway, LmtpHandler

MAIL = b"From: alice@example.org\r\nTo: support@company.net\r\nSubject: hi\r\n\r\nhello\r\n"


class Broker:
    """Stands in for RawPublisher: records what it acknowledged, or is 'down'."""

    def __init__(self) -> None:
        self.down = False
        self.published: list[RawEmail] = []

    def publish(self, raws: list[RawEmail]) -> None:
        if self.down:
            raise BrokerUnavailable("stopped for the test")
        self.published += raws


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LmtpHandler, Broker, int]]:
    """The gateway's own server and handler; its directory feed is not started (`load`
    stands in for it) and the broker is the stand-in above."""
    settings = Settings(var_dir=tmp_path, inline_limit_bytes=1024)
    options = LmtpOptions(port=free_port(), max_message_bytes=4096)
    gateway = LmtpGateway(settings, options)
    broker = Broker()
    gateway.handler.publisher = broker  # type: ignore[assignment]
    gateway.controller.start()
    yield gateway.handler, broker, options.port
    gateway.controller.stop()
    gateway.handler.executor.shutdown()


def load(handler: LmtpHandler) -> None:
    gw = GatewayEntry(
        gateway_id="g1",
        name="support",
        type="local",
        protocol="lmtp",
        address="support@company.net",
        department_id=1,
    )
    handler.set_gateways({"g1": gw})


def transaction(port: int, recipients: list[str], data: bytes = MAIL) -> tuple[list, list]:
    """RCPT replies and the per-recipient DATA replies of one LMTP transaction."""
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        assert lmtp.mail("alice@example.org")[0] == 250
        rcpt = [lmtp.rcpt(r) for r in recipients]
        accepted = sum(1 for code, _ in rcpt if code == 250)
        if not accepted:
            return rcpt, []
        replies = [lmtp.data(data)]
        replies += [lmtp.getreply() for _ in range(accepted - 1)]
        return rcpt, replies


def test_lhlo_announces_the_size_limit(server) -> None:
    _, _, port = server
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        code, _ = lmtp.ehlo()  # smtplib.LMTP sends LHLO
        assert code == 250 and lmtp.esmtp_features["size"] == "4096"
        assert "smtputf8" in lmtp.esmtp_features and "8bitmime" in lmtp.esmtp_features


def test_unknown_recipients_550_and_one_reply_per_accepted_one(server) -> None:
    handler, broker, port = server
    load(handler)
    rcpt, replies = transaction(
        port, ["support@company.net", "nobody@company.net", "SUPPORT@company.net"]
    )
    assert [c for c, _ in rcpt] == [250, 550, 250]
    assert [c for c, _ in replies] == [250, 250]
    assert len(broker.published) == 1  # two recipients of one gateway: one mail


def test_before_the_directory_is_read_every_recipient_is_451(server) -> None:
    handler, broker, port = server
    rcpt, _ = transaction(port, ["support@company.net", "nobody@company.net"])
    assert [c for c, _ in rcpt] == [451, 451]
    assert broker.published == []


def test_broker_down_is_451_and_the_retry_is_the_same_email(server) -> None:
    handler, broker, port = server
    load(handler)
    broker.down = True
    _, replies = transaction(port, ["support@company.net"])
    assert [c for c, _ in replies] == [451]
    broker.down = False
    _, first = transaction(port, ["support@company.net"])
    _, second = transaction(port, ["support@company.net"])
    assert [c for c, _ in first + second] == [250, 250]
    assert len({r.email_id for r in broker.published}) == 1


def test_too_much_data_is_552_for_every_recipient(server) -> None:
    handler, broker, port = server
    load(handler)
    big = MAIL + b"x" * 70 + b"\r\n"
    big = big * (5000 // len(big) + 1)
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.ehlo()
        assert lmtp.mail("alice@example.org", ["SIZE=99999"])[0] == 552  # announced size
        lmtp.rset()
        lmtp.mail("alice@example.org")  # no SIZE given: refused after DATA, per recipient
        lmtp.rcpt("support@company.net")
        lmtp.rcpt("support@company.net")
        replies = [lmtp.data(big), lmtp.getreply()]
    assert [c for c, _ in replies] == [552, 552]
    assert broker.published == []
