"""The router benchmark's mails: a seeded mix of plain, HTML, attachment, non-ASCII,
auto-reply and unknown-sender mails to two gateways, like a support mailbox's."""

from __future__ import annotations

import base64
import random
import uuid

WORDS = [
    "server",
    "down",
    "restart",
    "error",
    "invoice",
    "payment",
    "domain",
    "DNS",
    "certificate",
    "backup",
    "database",
    "disk",
    "memory",
    "timeout",
    "please",
    "urgent",
    "thanks",
    "regards",
    "login",
    "password",
    "email",
    "account",
    "renewal",
    "hosting",
    "upgrade",
    "migration",
    "ticket",
    "question",
    "problem",
    "since",
    "yesterday",
]
CLIENTS = 300
GATEWAYS = (("gw-support", "support@company.net", 1), ("gw-sales", "sales@company.net", 2))


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def body_text(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = sentence(rng, rng.randint(6, 14))
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def make_mail(rng: random.Random, i: int, to: str) -> bytes:
    """One of: plain, HTML alternative, attachment, non-ASCII, auto-reply, unknown sender."""
    kind = rng.random()
    known = rng.random() < 0.85
    sender = f"client{rng.randrange(CLIENTS)}@example.com" if known else f"x{i}@stranger.org"
    head = (
        f"Return-Path: <{sender}>\r\nReceived: from mx.example.com by mail.company.net; "
        f"Thu, 26 Nov 2026 10:00:00 +0000\r\nFrom: Client {i} <{sender}>\r\nTo: {to}\r\n"
        f"Subject: {sentence(rng, 4)}\r\nMessage-ID: <bench-{i}-{uuid.uuid4().hex}@example.com>\r\n"
        f"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    )
    text = body_text(rng, rng.choice((300, 800, 2000, 6000)))
    if kind < 0.45:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n").encode()
    if kind < 0.75:
        html = "<html><body>" + "".join(f"<p>{p}</p>" for p in text.split("\n")) + "</body></html>"
        return (
            head + 'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
            "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
            "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n--alt--\r\n"
        ).encode()
    if kind < 0.88:
        size = rng.choice((20_000, 60_000, 200_000))
        blob = base64.encodebytes(rng.randbytes(size)).decode().replace("\n", "\r\n")
        return (
            head + 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
            "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
            "--mix\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="invoice-{i}.pdf"\r\n\r\n'
            + blob
            + "--mix--\r\n"
        ).encode()
    if kind < 0.95:
        body = "Dobrý den, žluťoučký kůň úpěl ďábelské ódy. " + text
        return (
            (
                head.replace("Subject: ", "Subject: =?utf-8?q?P=C5=99=C3=ADloha?= ")
                + "Content-Type: text/plain; charset=windows-1250\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            ).encode()
            + _qp(body.encode("windows-1250"))
            + b"\r\n"
        )
    return (
        head + "Auto-Submitted: auto-replied\r\nContent-Type: text/plain\r\n\r\n"
        "I am out of the office until Monday.\r\n"
    ).encode()


def _qp(data: bytes) -> bytes:
    import quopri

    return quopri.encodestring(data)


def build_mails(n: int, seed: int = 4) -> list[tuple[str, str, int, bytes]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        gw, addr, dept = GATEWAYS[i % 2]
        out.append((gw, addr, dept, make_mail(rng, i, addr)))
    return out
