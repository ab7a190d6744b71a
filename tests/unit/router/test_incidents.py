"""Rule 7 and the ledger: charge once, never overdraw, one notice per address per window."""

from __future__ import annotations

import pytest

from schemas.events import Decision, IncidentsGranted
from services.router.ledger import ChargeRequest, Ledger
from services.router.rules import incidents


def ledger() -> Ledger:
    return Ledger({}, {}, {}, {})


def req(email_id: str, per_incident: bool = True, message_id: str = "", to: str = "a@x.org"):
    return ChargeRequest(
        email_id=email_id,
        gateway_id="gw",
        client_id=7,
        department_id=1,
        ticket_id=f"T{email_id}",
        per_incident=per_incident,
        notice_to=to,
        message_id=message_id,
        subject="help",
    )


def grant(amount: int, grant_id: str = "g1") -> IncidentsGranted:
    return IncidentsGranted(grant_id=grant_id, client_id=7, amount=amount)


# (grants, mails as (email id, per incident), expected decisions)
CASES = [
    ([], [("e1", False)], ["ticket_opened"]),  # free department: no incident needed
    ([], [("e1", True)], ["insufficient_incidents"]),
    ([1], [("e1", True), ("e2", True)], ["ticket_opened", "insufficient_incidents"]),
    ([2], [("e1", True), ("e2", True)], ["ticket_opened", "ticket_opened"]),
    ([2, -1], [("e1", True), ("e2", True)], ["ticket_opened", "insufficient_incidents"]),
    ([1], [("e1", True), ("e1", True)], ["ticket_opened", "ticket_opened"]),  # redelivery
    ([1], [("e1", False), ("e2", True)], ["ticket_opened", "ticket_opened"]),
]


@pytest.mark.parametrize(("grants", "mails", "expected"), CASES)
def test_decisions(grants: list[int], mails: list[tuple[str, bool]], expected: list[str]) -> None:
    led = ledger()
    for i, amount in enumerate(grants):
        assert led.grant(grant(amount, f"g{i}"))
    got = [incidents.check(req(e, p), led, 0.0, 60)[0].decision.value for e, p in mails]
    assert got == expected


def test_grant_applied_once() -> None:
    led = ledger()
    assert led.grant(grant(3)) and not led.grant(grant(3))
    assert led.balance(7) == 3


def test_redelivery_replays_the_recorded_decision_without_charging() -> None:
    led = ledger()
    led.grant(grant(1))
    first, replayed1 = incidents.check(req("e1"), led, 0.0, 60)
    again, replayed2 = incidents.check(req("e1"), led, 0.0, 60)
    assert (replayed1, replayed2) == (False, True)
    assert first == again and first.charged and led.balance(7) == 0


def test_notice_once_per_window_per_address() -> None:
    led = ledger()
    got = [
        incidents.check(req(f"e{i}"), led, now, 100)[0].notice
        for i, now in enumerate([0.0, 10.0, 99.0, 100.0, 150.0])
    ]
    assert got == [True, False, False, True, False]
    other = incidents.check(req("x", to="b@x.org"), led, 150.0, 100)[0]
    assert other.notice  # another address has its own window


def test_redelivered_notice_is_not_a_second_notice() -> None:
    led = ledger()
    first = incidents.check(req("e1"), led, 0.0, 100)[0]
    again, replayed = incidents.check(req("e1"), led, 500.0, 100)
    assert first.notice and again.notice and replayed  # same notice re-emitted, same id
    assert led.notices["a@x.org"] == 0.0


def test_same_message_id_twice_is_a_duplicate() -> None:
    led = ledger()
    led.grant(grant(5))
    a = incidents.check(req("e1", message_id="m@x"), led, 0.0, 60)[0]
    b = incidents.check(req("e2", message_id="m@x"), led, 0.0, 60)[0]
    assert a.decision is Decision.TICKET_OPENED and b.decision is Decision.DUPLICATE
    assert b.ticket_id == a.ticket_id and led.balance(7) == 4


def test_copies_of_one_message_replay_their_own_decisions() -> None:
    """One entry per client and Message-ID holds every copy's decision: a redelivered
    first copy stays the ticket, a redelivered second copy stays the duplicate."""
    led = ledger()
    led.grant(grant(5))
    a = incidents.check(req("e1", message_id="m@x"), led, 0.0, 60)[0]
    b = incidents.check(req("e2", message_id="m@x"), led, 0.0, 60)[0]
    again_a, replayed_a = incidents.check(req("e1", message_id="m@x"), led, 0.0, 60)
    again_b, replayed_b = incidents.check(req("e2", message_id="m@x"), led, 0.0, 60)
    assert (again_a, again_b) == (a, b) and replayed_a and replayed_b
    assert led.balance(7) == 4 and len(led.charges) == 1


def test_a_copy_refused_for_incidents_does_not_block_a_later_copy() -> None:
    """Only an opened ticket makes later copies duplicates; the refused copy keeps its decision."""
    led = ledger()
    first = incidents.check(req("e1", message_id="m@x"), led, 0.0, 60)[0]
    led.grant(grant(1))
    second = incidents.check(req("e2", message_id="m@x"), led, 0.0, 60)[0]
    again = incidents.check(req("e1", message_id="m@x"), led, 0.0, 60)[0]
    assert first.decision is Decision.INSUFFICIENT_INCIDENTS
    assert second.decision is Decision.TICKET_OPENED and again == first
    assert led.balance(7) == 0
