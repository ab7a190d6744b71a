"""Rule 6: known sender -> ticket in the gateway's department; unknown -> Incoming."""

from __future__ import annotations

import pytest

from schemas.events import Decision
from schemas.ticket_tag import ticket_id_for_email
from services.router.rules import client
from services.router.rules.base import Action
from tests.unit.router.helpers import KEY, build, context, directory

CASES = [
    ("alice@example.com", False, Decision.TICKET_OPENED),
    ("Alice <ALICE@EXAMPLE.COM>", False, Decision.TICKET_OPENED),
    ("=?utf-8?q?Al=C3=AFce?= <alice@example.com>", False, Decision.TICKET_OPENED),
    ("bob@example.com", False, Decision.INCOMING),
    ("alice@example.com.evil.org", False, Decision.INCOMING),
    ("xalice@example.com", False, Decision.INCOMING),
    ("alice@example.com", True, Decision.INCOMING),  # automatic mail never opens tickets
]


@pytest.mark.parametrize(("frm", "is_automatic", "decision"), CASES)
def test_client(frm: str, is_automatic: bool, decision: Decision) -> None:
    mail, ctx = context(build(f"From: {frm}\nTo: support@company.net\nSubject: x"), directory())
    ctx.automatic = is_automatic
    verdict = client.check(mail, ctx)
    assert verdict is not None and verdict.decision is decision
    if decision is Decision.TICKET_OPENED:
        assert verdict.action is Action.OPEN_TICKET and verdict.client_id == 7
        assert verdict.ticket_id == ticket_id_for_email(ctx.raw.email_id, KEY)
    else:
        assert verdict.action is Action.INCOMING


def test_removed_client_is_unknown() -> None:
    d = directory()
    d.apply_client(b"alice@example.com", None)  # tombstone
    mail, ctx = context(build("From: alice@example.com\nTo: support@company.net"), d)
    verdict = client.check(mail, ctx)
    assert verdict is not None and verdict.decision is Decision.INCOMING
