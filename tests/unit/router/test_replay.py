"""Replay without a broker: the dry run's decisions and findings, and the router's side of
an applied replay (stamped outcomes, rule 7 deciding a refused mail again, once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernel.config import Settings
from schemas.events import DepartmentEntry, GatewayEntry, Outcome, RawEmail
from schemas.replay import ReplayCommand, ReplaySelection
from services.router.ledger import Ledger, loads_item
from services.router.outputs import LEDGER
from services.router.pipeline import RULES, Router
from services.router.replay.commands import Replayer
from services.router.replay.engine import DryRun, Snapshot
from services.router.replay.reading import LedgerState
from services.router.rules import recipient
from services.router.rules.base import Verdict
from tests.unit.router.helpers import KEY, directory, raw_event, simple

WRONG = "supprot@company.net"  # the mistyped gateway address


@dataclass
class Rec:
    """What the dry run needs of a ConsumerRecord."""

    key: bytes
    value: bytes
    partition: int = 0
    offset: int = 0


def _gateway(address: str = "support@company.net", department_id: int = 1) -> GatewayEntry:
    return GatewayEntry(gateway_id="gw1", name="support", type="local", protocol="maildir",
                        address=address, department_id=department_id)  # fmt: skip


def _recorded(raw: RawEmail, decision: str, rule: str = "recipient") -> Outcome:
    return Outcome(email_id=raw.email_id, gateway_id=raw.gateway_id, decision=decision, rule=rule)


def _run(tmp_path: Path, raws: list[RawEmail], outcomes: list[Outcome], **kw) -> DryRun:
    d = kw.pop("directory", None) or directory()
    ledger = kw.pop("ledger", None) or LedgerState({}, {}, {}, {})
    snap = Snapshot(d, {"gw1": kw.pop("gateway", _gateway())},
                    {o.email_id: o for o in outcomes}, ledger)  # fmt: skip
    settings = Settings(var_dir=tmp_path, ticket_key=KEY.decode())
    run = DryRun(settings, snap, kw.pop("selection", ReplaySelection()), keep_raw=True, **kw)
    for i, raw in enumerate(raws):
        run.record(Rec(b"gw1", raw.model_dump_json().encode(), offset=i))
    run.missing_from_raw()
    run.report(0.1)
    return run


def test_a_fixed_gateway_address_turns_ignored_mail_into_tickets(tmp_path: Path) -> None:
    raws = [raw_event(simple(to="support@company.net"), address=WRONG) for _ in range(3)]
    stranger = raw_event(simple(frm="bob@example.org"), address=WRONG)
    run = _run(tmp_path, [*raws, stranger], [_recorded(r, "ignored_recipient") for r in
                                             [*raws, stranger]])  # fmt: skip
    r = run.report_
    assert r.selected == 4 and r.counts == {"apply": 4}
    assert {(c.old, c.new, c.count) for c in r.matrix} == {
        ("ignored_recipient", "ticket_opened", 3),
        ("ignored_recipient", "incoming", 1),
    }
    row = next(w for w in r.changed if w.new_decision == "ticket_opened")
    assert (row.from_address, row.subject, row.old_rule) == ("alice@example.com", "Help",
                                                            "recipient")  # fmt: skip
    assert row.ticket_id and row.action == "apply"
    # What --apply sends: today's gateway address, not the one stamped at fetch time.
    assert {raw.gateway.address for raw in run.to_apply.values()} == {"support@company.net"}


def test_mail_with_a_ticket_is_kept_and_gone_bytes_are_listed(tmp_path: Path) -> None:
    converted = raw_event(simple(frm="bob@example.org"))
    d = directory()
    d.email_tickets[converted.email_id] = "TTTTTTTTTT"  # staff converted it from Incoming
    blob = raw_event(simple()).model_copy(
        update={"raw_b64": None, "blob_ref": "sha256:" + "a" * 64}
    )
    unrouted = Outcome(email_id="gone-1", gateway_id="gw1", decision="incoming", rule="client")
    run = _run(tmp_path, [converted, blob], [_recorded(converted, "incoming", "client"), unrouted],
               directory=d)  # fmt: skip
    r = run.report_
    assert r.counts == {"unchanged": 1, "gone": 2}
    assert {g.email_id for g in r.gone} == {blob.email_id, "gone-1"}
    assert "raw bytes unavailable" in next(g.why for g in r.gone if g.email_id == blob.email_id)
    assert "past its retention" in next(g.why for g in r.gone if g.email_id == "gone-1")
    assert run.to_apply == {}
    assert "gone" in r.to_csv() and "gone-1" in r.to_csv()


def test_rule_7_is_simulated_on_a_copy_of_the_ledger(tmp_path: Path) -> None:
    paid = DepartmentEntry(department_id=2, name="paid", per_incident=True)
    d = directory(departments=[paid])
    ledger = LedgerState({"7": 1}, {}, {}, {})
    raws = [raw_event(simple(), department_id=2) for _ in range(2)]
    run = _run(tmp_path, raws, [_recorded(r, "incoming", "client") for r in raws], directory=d,
               ledger=ledger, gateway=_gateway(department_id=2))  # fmt: skip
    assert sorted(w.new_decision for w in run.report_.changed) == [
        "insufficient_incidents",
        "ticket_opened",
    ]
    assert ledger.balances == {"7": 1}  # the snapshot itself is untouched


def test_a_rule_change_is_seen_before_it_ships(tmp_path: Path) -> None:
    """A recipient rule that also accepts Cc: only the mails Cc'd to the gateway change."""

    class CcToo:
        NAME = recipient.NAME

        @staticmethod
        def check(mail, ctx) -> Verdict | None:
            if "support@company.net" in mail.header("Cc").lower():
                return None
            return recipient.check(mail, ctx)

    cc = raw_event(simple(to="someone@example.org", extra="Cc: support@company.net"))
    other = raw_event(simple(to="someone@example.org"))
    rules = tuple(CcToo if r is recipient else r for r in RULES)
    outcomes = [_recorded(cc, "ignored_recipient"), _recorded(other, "ignored_recipient")]
    run = _run(tmp_path, [cc, other], outcomes, rules=rules)
    assert [w.email_id for w in run.report_.changed] == [cc.email_id]
    assert run.report_.counts == {"apply": 1, "unchanged": 1}


def test_selection_by_decision_and_email(tmp_path: Path) -> None:
    a, b = raw_event(simple()), raw_event(simple())
    outcomes = [_recorded(a, "ignored_recipient"), _recorded(b, "ticket_opened", "client")]
    sel = ReplaySelection(decisions=("ignored_recipient",))
    assert _run(tmp_path, [a, b], outcomes, selection=sel).report_.selected == 1
    sel = ReplaySelection(email_ids=(b.email_id,))
    run = _run(tmp_path, [a, b], outcomes, selection=sel)
    assert run.report_.selected == 1 and run.report_.counts == {"unchanged": 1}


def _replayer(d=None) -> tuple[Router, Replayer]:
    router = Router(d or directory(), KEY)
    return router, Replayer(router, router.directory)  # type: ignore[arg-type]


def test_the_router_stamps_a_replay_and_decides_a_refused_mail_again_once() -> None:
    paid = DepartmentEntry(department_id=2, name="paid", per_incident=True)
    router, replayer = _replayer(directory(departments=[paid]))
    raw = raw_event(simple(), department_id=2)
    ledger = Ledger({}, {}, {}, {})
    first = router.route(raw)  # the mail the first time: no incident left
    settled = router.handle_ledger(first[0].value(), ledger, 0.0)
    assert [o.event.decision for o in settled if o.topic == "outcomes"] == [
        "insufficient_incidents"
    ]
    ledger.add(7, 1)  # the client buys one
    outs = replayer.handle(ReplayCommand(replay_id="r1", raw=raw))
    item, _ = loads_item(next(o for o in outs if o.topic == LEDGER).value())
    assert item.replay_id == "r1"
    again = router.handle_ledger(outs[0].value(), ledger, 10.0)
    outcome = next(o.event for o in again if o.topic == "outcomes")
    assert (outcome.decision, outcome.replay_id) == ("ticket_opened", "r1")
    assert ledger.balance(7) == 0
    # Redelivered, or applied again: the stored decision, no second charge.
    for rid in ("r1", "r2"):
        outs = replayer.handle(ReplayCommand(replay_id=rid, raw=raw))
        repeat = router.handle_ledger(outs[0].value(), ledger, 20.0)
        assert next(o.event for o in repeat if o.topic == "outcomes").decision == "ticket_opened"
    assert ledger.balance(7) == 0


def test_the_router_keeps_a_mail_that_has_a_ticket_and_writes_no_dead_letter() -> None:
    router, replayer = _replayer()
    raw = raw_event(simple())
    router.directory.email_tickets[raw.email_id] = "TTTTTTTTTT"  # type: ignore[attr-defined]
    [out] = replayer.handle(ReplayCommand(replay_id="r1", raw=raw))
    assert (out.topic, out.event.decision, out.event.rule) == (
        "outcomes",
        "ticket_opened",
        "replay",
    )
    bad = raw_event(b"\x00\x01 not a mail at all")
    outs = replayer.handle(ReplayCommand(replay_id="r1", raw=bad))
    assert [o.topic for o in outs] == ["outcomes"] and outs[0].event.replay_id == "r1"


def test_the_directory_knows_which_mail_became_a_ticket_or_a_message() -> None:
    from schemas.events import MessageAdded, TicketOpened

    d = directory()
    opened = TicketOpened(event_id="1", ticket_id="T1", number=1, department_id=1, client_id=7,
                          subject="s", source_email_id="e-open")  # fmt: skip
    first = MessageAdded(event_id="2", ticket_id="T1", message_id=1, direction="in",
                         source_email_id="e-open")  # fmt: skip
    reply = MessageAdded(event_id="3", ticket_id="T1", message_id=2, direction="in",
                         source_email_id="e-reply")  # fmt: skip
    for event in (opened, first, reply):
        d.apply_ticket_event(b"T1", event.model_dump_json().encode())
    assert d.ticket_for_email("e-open") == d.ticket_for_email("e-reply") == "T1"
    assert d.email_messages == {"e-reply"}
