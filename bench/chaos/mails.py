"""The chaos run's mail: seven kinds, each with the one outcome the router must give it."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from email.message import EmailMessage

from schemas.events import Decision

SUPPORT = "support@company.net"  # free department
PAID = "paid@company.net"  # per-incident department
CLIENT = "client@example.org"  # known client of both
PAYER = "payer@example.com"  # per-incident client with incidents enough
DOMAIN = "company.net"

EXPECTED: dict[str, Decision] = {
    "ticket": Decision.TICKET_OPENED,  # known client -> ticket
    "reply": Decision.MESSAGE_ADDED,  # reply by tag -> message on that ticket
    "incoming": Decision.INCOMING,  # unknown sender -> incoming email
    "notice": Decision.INSUFFICIENT_INCIDENTS,  # per-incident client, none left -> notice
    "charge": Decision.TICKET_OPENED,  # per-incident client with incidents -> charged ticket
    "empty": Decision.IGNORED_EMPTY,
    "bounce": Decision.AUTOMATIC,
}
KINDS = tuple(EXPECTED)


@dataclass(frozen=True)
class ChaosMail:
    n: int
    kind: str
    message_id: str  # without <>
    mailbox: str  # the gateway's address, also its Dovecot user
    sender: str
    data: bytes


def broke_address(n: int) -> str:
    """One address per notice mail: notices go out at most once per address per window."""
    return f"broke{n}@example.com"


def plan(count: int, seed: int) -> list[str]:
    """The kinds of `count` mails in delivery order, every kind present, from `seed`."""
    rng = random.Random(seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    return kinds


def build(n: int, kind: str, reply_tags: list[str], run: str) -> ChaosMail:
    """Mail number `n` of `kind`; `reply_tags` are tags ("[#ID]") of the client's tickets."""
    mid = f"chaos-{run}-{n}-{uuid.uuid4().hex[:8]}@mail.example.org"
    mailbox = PAID if kind in ("charge", "notice") else SUPPORT
    sender = {
        "incoming": f"stranger{n}@elsewhere.example",
        "notice": broke_address(n),
        "charge": PAYER,
        "bounce": "MAILER-DAEMON@mx.example.net",
    }.get(kind, CLIENT)
    if kind == "bounce":
        return ChaosMail(n, kind, mid, mailbox, sender, _bounce(n, mid, mailbox))
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mailbox
    msg["Message-ID"] = f"<{mid}>"
    subject = f"chaos {kind} {n}"
    if kind == "reply":
        subject = f"Re: earlier question {reply_tags[n % len(reply_tags)]}"
    msg["Subject"] = subject
    msg.set_content("" if kind == "empty" else f"mail {n} of the chaos run ({kind})\n")
    return ChaosMail(n, kind, mid, mailbox, sender, bytes(msg))


def _bounce(n: int, mid: str, mailbox: str) -> bytes:
    """A delivery status notification (multipart/report) for mail we never sent."""
    boundary = f"dsn-{n}"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: {mailbox}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{mid}>\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered.\r\n"
        f"\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; nobody{n}@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()
