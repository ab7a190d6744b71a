"""One mail to two monitored addresses: one ticket, in the first To gateway's department,
whichever copy the router sees first."""

from __future__ import annotations

import itertools

import pytest

from schemas.events import Decision, GatewayEntry, IncomingEmail, OpenTicket
from services.router.directory import InMemoryDirectory
from services.router.gateways import GatewayIndex, home
from services.router.ledger import Ledger
from services.router.pipeline import Router
from tests.unit.router.helpers import KEY, build, directory, raw_event, route_and_settle

SALES = ("gw-sales", "sales@company.net", 1)
TECH = ("gw-tech", "tech@company.net", 2)


def _entry(gid: str, address: str, dept: int, **kw: object) -> GatewayEntry:
    return GatewayEntry(
        gateway_id=gid, name=gid, type="external", protocol="imap", address=address,
        department_id=dept, **kw,
    )  # fmt: skip


def _directory(*gateways: GatewayEntry, clients: dict[str, int] | None = None) -> InMemoryDirectory:
    d = directory(clients)
    for gw in gateways:
        d.apply_gateway(gw.gateway_id.encode(), gw.model_dump_json().encode())
    return d


def _copy(data: bytes, gw: tuple[str, str, int]):
    gid, address, dept = gw
    return raw_event(data, address=address, department_id=dept, gateway_id=gid)


MAIL = build(
    "From: Alice <alice@example.com>\nTo: Tech <TECH@company.net>, sales@company.net\n"
    "Subject: Both of you\nMessage-ID: <both-1@example.com>"
)


def test_index_follows_the_topic() -> None:
    index = GatewayIndex()
    entry = _entry("gw-a", "A@Company.net", 1, extra_addresses=("help@company.net",))
    index.apply(b"gw-a", entry.model_dump_json().encode())
    assert index.owners("a@company.net") == ["gw-a"] == index.owners("help@company.net")
    index.apply(
        b"gw-a", _entry("gw-a", "a@company.net", 1, enabled=False).model_dump_json().encode()
    )
    assert index.owners("a@company.net") == []
    index.apply(b"gw-b", b"{not json")  # ignored, never raises
    index.apply(b"gw-a", None)
    assert index.entries == {}


@pytest.mark.parametrize("receiving", [SALES, TECH])
def test_every_copy_finds_the_same_home(receiving: tuple[str, str, int]) -> None:
    d = _directory(_entry(*SALES), _entry(*TECH))
    got = home(_copy(MAIL, receiving), ["tech@company.net", "sales@company.net"], d.gateways)
    assert (got.gateway_id, got.department_id) == ("gw-tech", 2)
    got = home(_copy(MAIL, receiving), ["sales@company.net", "tech@company.net"], d.gateways)
    assert (got.gateway_id, got.department_id) == ("gw-sales", 1)


def test_unknown_disabled_and_shared_addresses() -> None:
    raw = _copy(MAIL, SALES)
    # Not in the router's view (yet), or disabled: the receiving gateway is home.
    assert home(raw, ["tech@company.net", "sales@company.net"], GatewayIndex()).gateway_id == (
        "gw-sales"
    )
    d = _directory(_entry(*TECH, enabled=False))
    assert home(raw, ["tech@company.net", "sales@company.net"], d.gateways).gateway_id == (
        "gw-sales"
    )
    # Two gateways on one address: the smallest id, from either of them.
    d = _directory(_entry(*SALES), _entry("gw-a-sales", "sales@company.net", 9))
    assert home(raw, ["sales@company.net"], d.gateways).gateway_id == "gw-a-sales"
    assert home(raw, ["bob@example.com"], d.gateways).gateway_id == "gw-sales"


@pytest.mark.parametrize("order", list(itertools.permutations([SALES, TECH])))
def test_one_ticket_in_the_first_to_gateway_department(order) -> None:
    d = _directory(_entry(*SALES), _entry(*TECH))
    router, ledger = Router(d, KEY), Ledger({}, {}, {}, {})
    outs = [
        route_and_settle(router, _copy(MAIL, gw).model_dump_json().encode(), ledger) for gw in order
    ]
    tickets = [
        OpenTicket.model_validate_json(o.value())
        for o in itertools.chain(*outs)
        if o.topic == "ticket_commands"
    ]
    assert [(t.department_id, t.gateway_id) for t in tickets] == [(2, "gw-tech")]
    decisions = [[o.event.decision for o in out if o.topic == "outcomes"] for out in outs]
    assert decisions == [[Decision.TICKET_OPENED], [Decision.DUPLICATE]]
    second = [o.event for o in outs[1] if o.topic == "outcomes"][0]
    assert second.ticket_id == tickets[0].ticket_id  # the duplicate names the ticket


def test_cc_to_a_second_gateway_is_not_a_second_ticket() -> None:
    mail = build(
        "From: alice@example.com\nTo: sales@company.net\nCc: tech@company.net\n"
        "Subject: Cc\nMessage-ID: <cc-1@example.com>"
    )
    d = _directory(_entry(*SALES), _entry(*TECH))
    router, ledger = Router(d, KEY), Ledger({}, {}, {}, {})
    via_tech = route_and_settle(router, _copy(mail, TECH).model_dump_json().encode(), ledger)
    via_sales = route_and_settle(router, _copy(mail, SALES).model_dump_json().encode(), ledger)
    assert [o.event.decision for o in via_tech] == [Decision.IGNORED_RECIPIENT]
    [ticket] = [OpenTicket.model_validate_json(o.value()) for o in via_sales if o.key == "7"]
    assert ticket.department_id == 1


def test_unknown_sender_goes_to_the_home_department_from_both() -> None:
    d = _directory(_entry(*SALES), _entry(*TECH), clients={"bob@example.com": 8})
    router = Router(d, KEY)
    for gw in (SALES, TECH):
        outs = router.handle_raw(gw[0].encode(), _copy(MAIL, gw).model_dump_json().encode())
        [incoming] = [o.event for o in outs if isinstance(o.event, IncomingEmail)]
        assert (incoming.department_id, incoming.gateway_id) == (2, "gw-tech")


def test_the_notice_and_charge_follow_the_home_department() -> None:
    from schemas.events import DepartmentEntry

    d = _directory(_entry(*SALES), _entry(*TECH))
    d.departments[2] = DepartmentEntry(department_id=2, name="Tech", per_incident=True)
    router = Router(d, KEY)
    [ledger_out] = router.handle_raw(b"gw-sales", _copy(MAIL, SALES).model_dump_json().encode())
    from services.router.ledger import loads_item

    req, _ = loads_item(ledger_out.value())
    assert (req.department_id, req.per_incident, req.gateway_address) == (
        2,
        True,
        "tech@company.net",
    )
    assert req.gateway_id == "gw-sales"  # the outcome stays with the copy's own gateway


def _settle_both(data: bytes) -> list[Decision]:
    d = _directory(_entry(*SALES), _entry(*TECH))
    router, ledger = Router(d, KEY), Ledger({}, {}, {}, {})
    outs = [
        route_and_settle(router, _copy(data, gw).model_dump_json().encode(), ledger)
        for gw in (TECH, SALES)
    ]
    return [o.event.decision for out in outs for o in out if o.topic == "outcomes"]


def test_without_message_id_the_copies_are_found_by_what_they_share() -> None:
    head = "From: alice@example.com\nTo: tech@company.net, sales@company.net\nSubject: No id"
    dated = build(head + "\nDate: Tue, 01 Dec 2026 10:00:00 +0000")
    assert _settle_both(dated) == [Decision.TICKET_OPENED, Decision.DUPLICATE]
    # No Date: two sends of the same text cannot be told from two copies; never merged.
    assert _settle_both(build(head)) == [Decision.TICKET_OPENED, Decision.TICKET_OPENED]
    # The same Date, another text: another mail.
    d = _directory(_entry(*SALES), _entry(*TECH))
    router, ledger = Router(d, KEY), Ledger({}, {}, {}, {})
    decisions = []
    for body in ("first text", "second text"):
        data = build(head + "\nDate: Tue, 01 Dec 2026 10:00:00 +0000", body)
        out = route_and_settle(router, _copy(data, TECH).model_dump_json().encode(), ledger)
        decisions += [o.event.decision for o in out if o.topic == "outcomes"]
    assert decisions == [Decision.TICKET_OPENED, Decision.TICKET_OPENED]
