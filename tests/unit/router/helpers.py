"""Building blocks for router unit tests: raw events, a directory, a context."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from schemas.events import (
    ClientEntry,
    DepartmentEntry,
    GatewaySnapshot,
    MailSource,
    RawEmail,
    email_id_for,
)
from services.router.directory import InMemoryDirectory
from services.router.ledger import Ledger
from services.router.mail import ParsedMail, parse
from services.router.outputs import LEDGER, Out
from services.router.pipeline import Router
from services.router.rules.base import Context

T = TypeVar("T")
GATEWAY = "support@company.NET"
KEY = b"unit-test-ticket-key"


def raw_event(
    data: bytes,
    *,
    address: str = GATEWAY,
    extra: tuple[str, ...] = (),
    department_id: int = 1,
    gateway_id: str = "gw1",
    name: str | None = None,
) -> RawEmail:
    source = MailSource(protocol="maildir", filename=name or uuid.uuid4().hex)
    return RawEmail(
        email_id=email_id_for(gateway_id, source),
        gateway_id=gateway_id,
        gateway=GatewaySnapshot(
            address=address, department_id=department_id, extra_addresses=extra
        ),
        source=source,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        raw_b64=base64.b64encode(data).decode(),
    )


def build(headers: str, body: str = "Hello, my server is down.") -> bytes:
    """A mail from header lines (\\n separated) and a plain-text body."""
    head = "\r\n".join(line for line in headers.strip().splitlines())
    return f"{head}\r\n\r\n{body}\r\n".encode()


def simple(
    frm: str = "alice@example.com",
    to: str = "support@company.net",
    subject: str = "Help",
    extra: str = "",
    body: str = "Hello, my server is down.",
) -> bytes:
    hdrs = (
        f"From: {frm}\nTo: {to}\nSubject: {subject}\nMessage-ID: <m-{uuid.uuid4().hex}@example.com>"
    )
    if extra:
        hdrs += "\n" + extra.strip()
    return build(hdrs, body)


def directory(
    clients: dict[str, int] | None = None,
    tickets: dict[str, int] | None = None,
    sent: dict[str, str] | None = None,
    departments: list[DepartmentEntry] | None = None,
) -> InMemoryDirectory:
    d = InMemoryDirectory()
    for email, cid in (clients or {"alice@example.com": 7}).items():
        d.clients[email.lower()] = ClientEntry(email=email, client_id=cid, name=f"client {cid}")
    d.ticket_clients.update(tickets or {})
    d.message_tickets.update(sent or {})
    for dept in departments or []:
        d.departments[dept.department_id] = dept
    return d


def context(
    data: bytes, d: InMemoryDirectory | None = None, **raw_kw
) -> tuple[ParsedMail, Context]:
    raw = raw_event(data, **raw_kw)
    return parse(data), Context(raw=raw, directory=d or directory(), ticket_key=KEY)


def route_and_settle(router: Router, value: bytes, ledger: Ledger | None = None) -> list[Out]:
    """The outputs for one raw record, with its ledger records settled as the settle agent
    would (each in a fresh, empty ledger unless one is given): what a mail finally causes."""
    final: list[Out] = []
    for out in router.handle_raw(b"gw1", value):
        if out.topic != LEDGER:
            final.append(out)
            continue
        state = ledger if ledger is not None else Ledger({}, {}, {}, {})
        final.extend(router.handle_ledger(out.value(), state, 0.0))
    return final


def cpu_seconds(work: Callable[[], T], budget_s: float) -> tuple[float, T]:
    """This thread's CPU for `work` and what it returned; measured again once if over `budget_s`.

    A pause of the test worker's own (a full collection of the heap earlier tests
    left, a cold import) is not the input's cost; a slow input is slow twice.
    """
    start = time.thread_time()
    result = work()
    spent = time.thread_time() - start
    if spent >= budget_s:
        start = time.thread_time()
        work()
        spent = min(spent, time.thread_time() - start)
    return spent, result
