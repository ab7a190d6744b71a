"""Rule 5: replies to a ticket from its client are added; from anyone else, Incoming."""

from __future__ import annotations

import pytest

from schemas.events import Decision
from services.router.rules import thread
from services.router.rules.base import Action
from tests.unit.router.helpers import build, context, directory

T1, T2 = "ABCDEFGHIJ", "KLMNOPQRST"
DIR = dict(
    clients={"alice@example.com": 7, "mallory@example.com": 9},
    tickets={T1: 7, T2: 9},
    sent={"out-1@company.net": T1, "out-2@company.net": T2},
)

CASES = [
    # (from, extra headers, subject, expected decision or None, expected ticket)
    ("alice@example.com", "", f"Re: help [#{T1}]", Decision.MESSAGE_ADDED, T1),
    ("ALICE@Example.com", "", f"Re: help [#{T1}]", Decision.MESSAGE_ADDED, T1),
    ("alice@example.com", "In-Reply-To: <out-1@company.net>", "Re", Decision.MESSAGE_ADDED, T1),
    ("alice@example.com", "References: <x@y> <out-1@company.net>", "", Decision.MESSAGE_ADDED, T1),
    # Someone else's tag: never reaches that ticket.
    ("mallory@example.com", "", f"Re: [#{T1}]", Decision.INCOMING, None),
    ("stranger@example.com", "", f"Re: [#{T1}]", Decision.INCOMING, None),
    ("mallory@example.com", "In-Reply-To: <out-1@company.net>", "Re", Decision.INCOMING, None),
    # A tag for a ticket that does not exist is ignored: the mail goes on as new.
    ("alice@example.com", "", "Re: [#ZZZZZZZZZZ]", None, None),
    ("alice@example.com", "In-Reply-To: <unknown@x>", "Re", None, None),
    # Lower-case or short tags are not tags.
    ("alice@example.com", "", f"Re: [#{T1.lower()}]", None, None),
    # Two tags: the one belonging to the sender wins.
    ("alice@example.com", "", f"[#{T2}] [#{T1}]", Decision.MESSAGE_ADDED, T1),
]


@pytest.mark.parametrize(("frm", "extra", "subject", "decision", "ticket"), CASES)
def test_thread(frm: str, extra: str, subject: str, decision, ticket) -> None:
    headers = f"From: {frm}\nTo: support@company.net\nSubject: {subject}"
    if extra:
        headers += f"\n{extra}"
    mail, ctx = context(build(headers), directory(**DIR))
    verdict = thread.check(mail, ctx)
    if decision is None:
        assert verdict is None
        return
    assert verdict is not None and verdict.decision is decision
    if decision is Decision.MESSAGE_ADDED:
        assert verdict.action is Action.ADD_MESSAGE and verdict.ticket_id == ticket
        assert verdict.client_id == 7
    else:
        assert verdict.action is Action.INCOMING and verdict.ticket_id is None
