"""Rule 2: bounces and loops are decided; other automatic mail is flagged and passes."""

from __future__ import annotations

import pytest

from schemas.events import Decision
from services.router.rules import automatic
from tests.unit.router.helpers import build, context, directory

BASE = "From: alice@example.com\nTo: support@company.net\nSubject: Hello"

FLAGGED = [
    ("Auto-Submitted: auto-replied", True),
    ("Auto-Submitted: auto-generated", True),
    ("Auto-Submitted: auto-notified; owner-email=x@y", True),
    ("Auto-Submitted: no", False),
    ("Auto-Submitted: No", False),
    ("Precedence: bulk", True),
    ("Precedence: junk", True),
    ("Precedence: list", True),
    ("X-Precedence: bulk", True),
    ("Precedence: first-class", False),
    ("List-Id: <news.example.com>", True),
    ("List-Unsubscribe: <mailto:u@example.com>", True),
    ("X-Mailing-List: news", True),
    ("X-Auto-Response-Suppress: All", True),
    ("X-Auto-Response-Suppress: OOF, AutoReply", True),
    ("X-Autoreply: yes", True),
    ("X-Autorespond: yes", True),
    ("X-Loop: someone@example.com", True),
    ("Return-Path: <>", True),
    ("Return-Path: <alice@example.com>", False),
    ("X-Mailer: Thunderbird", False),
]


@pytest.mark.parametrize(("header", "is_automatic"), FLAGGED)
def test_flagged_but_passes(header: str, is_automatic: bool) -> None:
    mail, ctx = context(build(f"{BASE}\n{header}"))
    assert automatic.check(mail, ctx) is None
    assert ctx.automatic is is_automatic


SENDERS = [
    ("noreply@example.com", True),
    ("no-reply@example.com", True),
    ("donotreply@example.com", True),
    ("owner-list@example.com", True),
    ("list-request@example.com", True),
    ("noreplyjohn@example.com", False),
    ("alice@example.com", False),
]


@pytest.mark.parametrize(("sender", "is_automatic"), SENDERS)
def test_sender_local_parts(sender: str, is_automatic: bool) -> None:
    mail, ctx = context(build(f"From: {sender}\nTo: support@company.net\nSubject: Hi"))
    assert automatic.check(mail, ctx) is None
    assert ctx.automatic is is_automatic


DSN = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
    b"To: support@company.net\r\nSubject: Undelivered Mail Returned to Sender\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
    b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n"
    b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: support@company.net\r\nTo: bob@example.org\r\nMessage-ID: <out-1@company.net>\r\n"
    b"Subject: Re: your ticket\r\n\r\nHello Bob\r\n--B--\r\n"
)

MDN = (
    b"From: bob@example.org\r\nTo: support@company.net\r\nSubject: Read: hi\r\n"
    b'Content-Type: multipart/report; report-type=disposition-notification; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n"
    b"--B\r\nContent-Type: message/disposition-notification\r\n\r\n"
    b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--B--\r\n"
)

DECIDED = [
    ("standard DSN", DSN, "report delivery-status"),
    ("read receipt", MDN, "report disposition-notification"),
    (
        "X-Failed-Recipients",
        build(f"{BASE}\nX-Failed-Recipients: bob@example.org", "failed"),
        "X-Failed-Recipients",
    ),
    (
        "mailer-daemon sender",
        build("From: MAILER-DAEMON@mx.example.com\nTo: support@company.net\nSubject: x"),
        "sender mailer-daemon",
    ),
    (
        "null From and bounce subject",
        build("From: <>\nTo: support@company.net\nSubject: Delivery Status Notification"),
        "bounce subject",
    ),
    (
        "MAILER-DAEMON <> with no address",
        build("From: MAILER-DAEMON <>\nTo: support@company.net\nSubject: Mail delivery failed"),
        "",
    ),
]


@pytest.mark.parametrize(("name", "data", "reason"), DECIDED, ids=[d[0] for d in DECIDED])
def test_bounces_are_decided(name: str, data: bytes, reason: str) -> None:
    mail, ctx = context(data)
    verdict = automatic.check(mail, ctx)
    assert verdict is not None and verdict.decision is Decision.AUTOMATIC
    assert reason in verdict.reason and ctx.automatic


def test_bounce_of_our_mail_is_matched() -> None:
    d = directory(tickets={"ABCDEFGHIJ": 7}, sent={"out-1@company.net": "ABCDEFGHIJ"})
    mail, ctx = context(DSN, d)
    verdict = automatic.check(mail, ctx)
    assert verdict is not None and verdict.ticket_id == "ABCDEFGHIJ"
    assert "status 5.1.1" in verdict.reason and "<out-1@company.net>" in verdict.reason


LOOPS = [
    ("from the gateway itself", "From: Support@Company.net\nTo: support@company.net\nSubject: x"),
    ("X-Loop names us", f"{BASE}\nX-Loop: support@company.net"),
    ("our own Message-ID", f"{BASE}\nMessage-ID: <out-1@company.net>"),
]


@pytest.mark.parametrize(("name", "headers"), LOOPS, ids=[c[0] for c in LOOPS])
def test_own_mail_is_a_loop(name: str, headers: str) -> None:
    d = directory(tickets={"ABCDEFGHIJ": 7}, sent={"out-1@company.net": "ABCDEFGHIJ"})
    mail, ctx = context(build(headers), d)
    verdict = automatic.check(mail, ctx)
    assert verdict is not None and verdict.decision is Decision.AUTOMATIC
    assert verdict.reason.startswith("loop")


HUMAN = [
    "Delivery problem with my order",
    "My mail was rejected by your server",
    "Re: returned goods",
    "Question about the delivery report",
    "Status of my request",
]


@pytest.mark.parametrize("subject", HUMAN)
def test_people_writing_about_delivery_are_not_bounces(subject: str) -> None:
    mail, ctx = context(
        build(f"From: alice@example.com\nTo: support@company.net\nSubject: {subject}")
    )
    assert automatic.check(mail, ctx) is None and not ctx.automatic


SIGNS = [
    ("Return-Path", "From: alice@example.com\nReturn-Path: <MAILER-DAEMON@mx.example.com>"),
    ("Sender", "From: alice@example.com\nSender: Postmaster <postmaster@mx.example.com>"),
    ("display name", "From: Mail Delivery System <bounce@mx.example.com>"),
    ("display name only", "From: Mail Delivery Subsystem"),
    ("encoded subject", "From: alice@example.com\nSubject: =?iso-8859-1?Q?Non_remis_=3A_x?="),
    ("Fwd subject", "From: alice@example.com\nSubject: Fwd: Returned mail: see transcript"),
]


@pytest.mark.parametrize(("name", "headers"), SIGNS, ids=[s[0] for s in SIGNS])
def test_one_sign_is_enough(name: str, headers: str) -> None:
    if "Subject:" not in headers:
        headers += "\nSubject: Hello"
    mail, ctx = context(build(f"{headers}\nTo: support@company.net"))
    verdict = automatic.check(mail, ctx)
    assert verdict is not None and verdict.decision is Decision.AUTOMATIC, name
