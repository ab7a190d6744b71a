"""Cc kept: a Cc'd person's reply joins the ticket as that person; anyone else does not."""

from __future__ import annotations

import pytest

from schemas.events import AddMessage, Decision, MessageAdded, TicketOpened
from services.router.pipeline import Router
from services.router.rules import cc, thread
from services.router.rules.base import Action
from tests.unit.router.helpers import KEY, build, context, directory, raw_event, route_and_settle

T1, T2 = "ABCDEFGHIJ", "KLMNOPQRST"


def _dir():
    d = directory(
        clients={"alice@example.com": 7, "mallory@example.com": 9, "carol@example.com": 8},
        tickets={T1: 7, T2: 9},
        sent={"out-1@company.net": T1},
    )
    # What the store publishes for T1: the client's mail was To support@, Cc bob and carol.
    d.apply_ticket_event(
        T1.encode(),
        MessageAdded(
            event_id="e1", ticket_id=T1, message_id=1, direction="in",
            cc_addresses=("Bob@Example.com", "carol@example.com"),
        ).model_dump_json().encode(),
    )  # fmt: skip
    return d


CASES = [
    # (from, extra headers, subject, decision, author)
    ("bob@example.com", "", f"Re: help [#{T1}]", Decision.MESSAGE_ADDED, "cc"),
    ("BOB@example.com", "In-Reply-To: <out-1@company.net>", "Re", Decision.MESSAGE_ADDED, "cc"),
    ("bob@example.com", "References: <x@y> <out-1@company.net>", "", Decision.MESSAGE_ADDED, "cc"),
    # A registered client of another account, Cc'd here: still added as themselves.
    ("carol@example.com", "", f"Re: [#{T1}]", Decision.MESSAGE_ADDED, "cc"),
    # The ticket's client stays the client, Cc list or not.
    ("alice@example.com", "", f"Re: [#{T1}]", Decision.MESSAGE_ADDED, "client"),
    # Not Cc'd on this ticket: Incoming emails, as before.
    ("eve@example.com", "", f"Re: [#{T1}]", Decision.INCOMING, None),
    ("mallory@example.com", "In-Reply-To: <out-1@company.net>", "Re", Decision.INCOMING, None),
    # Cc'd on T1 does not open T2 to them.
    ("bob@example.com", "", f"Re: [#{T2}]", Decision.INCOMING, None),
]


@pytest.mark.parametrize(("frm", "extra", "subject", "decision", "author"), CASES)
def test_reply_from_a_cc_address(frm: str, extra: str, subject: str, decision, author) -> None:
    headers = f"From: {frm}\nTo: support@company.net\nSubject: {subject}"
    if extra:
        headers += f"\n{extra}"
    mail, ctx = context(build(headers), _dir())
    verdict = thread.check(mail, ctx)
    assert verdict is not None and verdict.decision is decision
    if decision is Decision.MESSAGE_ADDED:
        assert verdict.action is Action.ADD_MESSAGE and verdict.ticket_id == T1
        assert verdict.client_id == 7 and verdict.author == author
    else:
        assert verdict.action is Action.INCOMING and verdict.ticket_id is None


def test_match_needs_a_named_ticket_and_a_sender() -> None:
    new = build("From: bob@example.com\nTo: support@company.net\nSubject: new")
    mail, ctx = context(new, _dir())
    assert cc.match(mail, ctx, []) is None
    mail, ctx = context(build("To: support@company.net\nSubject: x"), _dir())
    assert cc.match(mail, ctx, [(T1, "subject tag")]) is None


def test_cc_list_grows_with_every_message_and_survives_other_events() -> None:
    d = _dir()
    d.apply_ticket_event(
        T1.encode(),
        TicketOpened(
            event_id="e0", ticket_id=T1, number=1, department_id=1, client_id=7, subject="x"
        )
        .model_dump_json()
        .encode(),
    )
    d.apply_ticket_event(
        T1.encode(),
        MessageAdded(
            event_id="e2", ticket_id=T1, message_id=2, direction="out",
            email_message_id="<out-2@company.net>", cc_addresses=("dave@example.com",),
        ).model_dump_json().encode(),
    )  # fmt: skip
    assert d.ticket_cc(T1) == {"bob@example.com", "carol@example.com", "dave@example.com"}
    assert d.ticket_cc(T2) == frozenset()


def test_new_mail_from_a_cc_address_follows_the_client_rule() -> None:
    """Not a reply: an unknown Cc'd address goes to Incoming, a registered one opens a ticket."""
    router = Router(_dir(), KEY)
    unknown = route_and_settle(
        router,
        raw_event(build("From: bob@example.com\nTo: support@company.net\nSubject: new"))
        .model_dump_json()
        .encode(),
    )
    assert {o.topic for o in unknown} == {"incoming", "outcomes"}
    known = route_and_settle(
        router,
        raw_event(build("From: carol@example.com\nTo: support@company.net\nSubject: new"))
        .model_dump_json()
        .encode(),
    )
    assert [o.event.decision for o in known if o.topic == "outcomes"] == ["ticket_opened"]


def test_the_command_carries_the_cc_author_and_the_mail_keeps_to_and_cc() -> None:
    data = build(
        f"From: Bob Builder <bob@example.com>\nTo: support@company.net, Alice@Example.com\n"
        f"Cc: dave@example.com, DAVE@example.com, not-an-address\nSubject: Re [#{T1}]"
    )
    outs = route_and_settle(Router(_dir(), KEY), raw_event(data).model_dump_json().encode())
    [cmd] = [o.event for o in outs if o.topic == "ticket_commands"]
    assert isinstance(cmd, AddMessage)
    assert (cmd.author, cmd.client_id, cmd.ticket_id) == ("cc", 7, T1)
    assert (cmd.content.from_address, cmd.content.from_name) == ("bob@example.com", "Bob Builder")
    assert cmd.content.to_addresses == ("support@company.net", "alice@example.com")
    assert cmd.content.cc_addresses == ("dave@example.com",)
