"""A batch's ledger items travel as one record per client: settled, they decide exactly
what the same items one record each would (tickets, charges, notices, duplicates)."""

from __future__ import annotations

import json

from schemas.events import DepartmentEntry, IncidentsGranted
from services.router.ledger import Ledger, split_items
from services.router.outputs import LEDGER, Out, group_ledger
from services.router.pipeline import Router
from tests.unit.router.helpers import KEY, directory, raw_event, simple

PAID = DepartmentEntry(department_id=2, name="paid", per_incident=True, insufficient_notice="No")
CLIENTS = {"alice@example.com": 7, "bob@example.com": 8}


def batch() -> list[Out]:
    """Stage-1 outputs of a batch: two clients' new tickets in a paid department (one of
    them sent twice under one Message-ID), a stranger's mail, and a grant for alice."""
    r = Router(directory(clients=CLIENTS, departments=[PAID]), KEY)
    mails = [simple(frm="alice@example.com", subject=f"a{i}") for i in range(4)]
    mails += [simple(frm="bob@example.com", subject=f"b{i}") for i in range(3)]
    mails.insert(3, mails[1])  # alice's second mail again: same Message-ID, another email id
    mails.insert(5, simple(frm="stranger@example.org"))
    outs: list[Out] = []
    for i, data in enumerate(mails):
        raw = raw_event(data, department_id=2, name=f"m{i}")
        outs.extend(r.handle_raw(b"gw1", raw.model_dump_json().encode()))
        if i == 2:  # a grant between alice's charges: applied in its place
            grant = IncidentsGranted(grant_id="g2", client_id=7, amount=1)
            outs.extend(r.handle_grant(b"7", grant.model_dump_json().encode()))
    return outs


def settle(outs: list[Out]) -> tuple[list[tuple[str, str, bytes]], Ledger]:
    r = Router(directory(clients=CLIENTS, departments=[PAID]), KEY)
    led = Ledger({}, {}, {}, {})
    led.grant(IncidentsGranted(grant_id="g1", client_id=7, amount=2))
    led.grant(IncidentsGranted(grant_id="g0", client_id=8, amount=1))
    final = []
    for o in outs:
        got = r.handle_ledger(o.value(), led, 1000.0) if o.topic == LEDGER else [o]
        final.extend((x.topic, x.key, _timeless(x.value())) for x in got)
    return final, led


def _timeless(value: bytes) -> bytes:
    """The record without the moment it was made (the only field that may differ)."""
    data = json.loads(value)
    data.pop("decided_at", None)
    return json.dumps(data, sort_keys=True).encode()


def decisions(final: list[tuple[str, str, bytes]]) -> dict[str, str]:
    return {
        json.loads(v)["email_id"]: json.loads(v)["decision"] for t, _, v in final if t == "outcomes"
    }


def test_one_record_per_client_settles_like_one_per_item() -> None:
    outs = batch()
    grouped = group_ledger(outs)
    assert [o.key for o in grouped if o.topic == LEDGER] == ["7", "8"]
    assert [o for o in grouped if o.topic != LEDGER] == [o for o in outs if o.topic != LEDGER]
    one_by_one, led1 = settle(outs)
    together, led2 = settle(grouped)
    assert sorted(together) == sorted(one_by_one)  # the same records
    got = sorted(decisions(together).values())
    assert (
        got == ["duplicate"] + ["incoming"] + ["insufficient_incidents"] * 3 + ["ticket_opened"] * 4
    )  # alice: 3 of 4 (2, then 1 granted between), bob: 1 of 3
    assert led2.balances == led1.balances == {"7": 0, "8": 0}
    assert led2.charges == led1.charges and led2.notices == led1.notices


def test_records_stay_under_the_size_limit_and_keep_the_order() -> None:
    outs = [o for o in batch() if o.topic == LEDGER and o.key == "7"]
    sizes = [len(o.value()) for o in outs]
    limit = max(sizes) * 2 + 1  # two items fit, three never do
    grouped = group_ledger(outs, max_bytes=limit)
    assert all(len(o.value()) <= limit for o in grouped)
    items = [item for o in grouped for item in split_items(o.value())]
    assert items == [o.value() for o in outs]
    assert len(grouped) == (len(outs) + 1) // 2


def test_a_bad_item_is_a_dead_letter_and_the_others_settle() -> None:
    charges = [o.value() for o in batch() if o.topic == LEDGER and o.key == "8"]
    record = b"\n".join([charges[0], b"not a ledger item\n", charges[1]])
    r = Router(directory(clients=CLIENTS, departments=[PAID]), KEY)
    led = Ledger({}, {}, {}, {})
    led.grant(IncidentsGranted(grant_id="g0", client_id=8, amount=5))
    outs = r.handle_ledger(record, led, 0.0)
    assert [o.topic for o in outs].count("dead") == 1
    assert [json.loads(o.value())["decision"] for o in outs if o.topic == "outcomes"] == [
        "ticket_opened",
        "ticket_opened",
    ]
    assert led.balance(8) == 3
