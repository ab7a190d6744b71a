"""The composed router: one outcome per mail, the right commands, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import DepartmentEntry, Outcome
from services.router.ledger import Ledger
from services.router.pipeline import LEDGER, RULES, Router
from tests.unit.router.helpers import KEY, build, directory, raw_event, simple

PAID = DepartmentEntry(
    department_id=2, name="paid", per_incident=True, insufficient_notice="Buy more"
)


def router() -> Router:
    return Router(directory(departments=[PAID], tickets={"ABCDEFGHIJ": 7}), KEY)


def run(data: bytes, **raw_kw) -> tuple[list, Ledger]:
    """Both stages, as the app runs them; returns every output."""
    r, led = router(), Ledger({}, {}, {}, {})
    outs = r.handle_raw(b"gw1", raw_event(data, **raw_kw).model_dump_json().encode())
    final = []
    for o in outs:
        final.extend(r.handle_ledger(o.value(), led, 0.0) if o.topic == LEDGER else [o])
    return final, led


def test_rule_order_is_the_documented_one() -> None:
    names = [r.NAME for r in RULES]
    assert names == ["parse", "automatic", "recipient", "empty", "thread", "client"]


CASES = [
    ("known client", simple(), {}, "ticket_opened", {"ticket_commands", "outcomes"}),
    ("unknown", simple(frm="bob@example.org"), {}, "incoming", {"incoming", "outcomes"}),
    ("alias", simple(to="support@company.com"), {}, "ignored_recipient", {"outcomes"}),
    ("empty", simple(body=" "), {}, "ignored_empty", {"outcomes"}),
    (
        "reply",
        simple(subject="Re [#ABCDEFGHIJ]"),
        {},
        "message_added",
        {"ticket_commands", "outcomes"},
    ),
    ("junk", b"\x00\x01", {}, "malformed", {"dead", "outcomes"}),
    (
        "paid, no incidents",
        simple(),
        {"department_id": 2},
        "insufficient_incidents",
        {"outbound", "outcomes"},
    ),
    (
        "auto-reply from client",
        simple(extra="Auto-Submitted: auto-replied"),
        {"department_id": 2},
        "incoming",
        {"incoming", "outcomes"},
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "kw", "decision", "topics"), CASES, ids=[c[0] for c in CASES]
)
def test_outputs(name: str, data: bytes, kw: dict, decision: str, topics: set[str]) -> None:
    outs, _ = run(data, **kw)
    outcomes = [o.event for o in outs if o.topic == "outcomes"]
    assert len(outcomes) == 1 and isinstance(outcomes[0], Outcome)
    assert outcomes[0].decision.value == decision
    assert {o.topic for o in outs} == topics


def test_notice_headers() -> None:
    data = simple(extra="References: <r1@x>")
    outs, _ = run(data, department_id=2)
    notice = next(o.event for o in outs if o.topic == "outbound")
    assert notice.auto_submitted == "auto-replied" and notice.kind == "insufficient_incidents"
    assert notice.in_reply_to.startswith("<m-") and notice.references[0] == "<r1@x>"
    assert notice.text == "Buy more" and notice.to == "alice@example.com"
    assert notice.subject == "Re: Help"
    assert notice.from_address == "support@company.net"  # the gateway the client wrote to


def test_notice_goes_to_return_path() -> None:
    outs, _ = run(simple(extra="Return-Path: <alice+bounces@example.com>"), department_id=2)
    notice = next(o for o in outs if o.topic == "outbound")
    assert notice.key == notice.event.to == "alice+bounces@example.com"


def test_undecodable_event_is_malformed_with_a_stable_id() -> None:
    r = router()
    a = r.handle_raw(b"gw1", b"{not json")
    b = r.handle_raw(b"gw1", b"{not json")
    assert [o.topic for o in a] == ["dead", "outcomes"]
    assert a[1].event.email_id == b[1].event.email_id


def test_missing_blob_is_malformed() -> None:
    raw = raw_event(simple()).model_copy(update={"raw_b64": None, "blob_ref": "sha256:" + "0" * 64})
    outs = router().handle_raw(b"gw1", raw.model_dump_json().encode())
    assert outs[-1].event.decision.value == "malformed" and "blob" in outs[-1].event.reason


def test_a_rule_that_raises_gives_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.router.rules import empty

    def boom(mail, ctx):
        raise RuntimeError("bug")

    monkeypatch.setattr(empty, "check", boom)
    outs, _ = run(simple())
    assert outs[-1].event.decision.value == "malformed" and outs[-1].event.rule == "empty"
    assert outs[0].topic == "dead" and "RuntimeError" in outs[0].event.reason


def test_huge_body_is_cut_and_kept_as_attachment(tmp_path) -> None:
    from kernel.blobs import BlobStore

    r = Router(directory(), KEY, BlobStore(tmp_path))
    outs = r.handle_raw(b"gw1", raw_event(simple(body="x" * 600_000)).model_dump_json().encode())
    cmd = outs[0].event.content
    assert len(cmd.text) == 200_000 and cmd.attachments[0].filename == "body.txt"
    assert len(outs[0].value()) < 900_000


def test_attachments_go_to_the_blob_store(tmp_path) -> None:
    from kernel.blobs import BlobStore

    data = (
        b"From: alice@example.com\r\nTo: support@company.net\r\nSubject: pdf\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\n"
        b"see attached\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b'filename="r.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--B--\r\n'
    )
    blobs = BlobStore(tmp_path)
    outs = Router(directory(), KEY, blobs).handle_raw(
        b"gw1", raw_event(data).model_dump_json().encode()
    )
    att = outs[0].event.content.attachments[0]
    assert att.filename == "r.pdf" and blobs.get(att.blob_ref) == b"%PDF-1.4\n"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_one_outcome(data: bytes) -> None:
    outs, _ = run(data)
    assert len([o for o in outs if o.topic == "outcomes"]) == 1
    for o in outs:
        o.value()  # every output serialises


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"From: a@example.com\r\n",
                b"To: support@company.net\r\n",
                b"Subject: =?utf-8?q?x?=\r\n",
                b'Content-Type: multipart/mixed; boundary="B"\r\n',
                b"\r\n",
                b"--B\r\n",
                b"--B--\r\n",
                b"Content-Type: text/html\r\n",
                b"<p>hi</p>\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"QUJD\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"Auto-Submitted: auto-replied\r\n",
                b"\xff\xfe\r\n",
                b"Content-Type: text/plain; charset=bogus\r\n",
            ]
        ),
        max_size=30,
    )
)
def test_mime_soup_one_outcome(chunks: list[bytes]) -> None:
    outs, _ = run(b"".join(chunks))
    assert len([o for o in outs if o.topic == "outcomes"]) == 1
    for o in outs:
        o.value()


def test_build_helper_is_crlf() -> None:
    assert b"\r\n\r\n" in build("From: a@b.c")


@pytest.mark.parametrize(("department_id", "charged"), [(1, False), (2, True)])
def test_opened_ticket_passes_the_ledger_as_the_route_agents_bytes(
    department_id: int, charged: bool
) -> None:
    """The OpenTicket is serialised once, before the ledger, and emitted unparsed after it."""
    from schemas.events import IncidentsGranted, OpenTicket
    from services.router.ledger import loads_item

    r, led = router(), Ledger({}, {}, {}, {})
    led.grant(IncidentsGranted(grant_id="g", client_id=7, amount=1))
    raw = raw_event(simple(subject="Printer on fire"), department_id=department_id)
    (charge,) = r.handle_raw(b"gw1", raw.model_dump_json().encode())
    item, ticket_bytes = loads_item(charge.value())
    assert charge.topic == LEDGER and item.subject == "Printer on fire"
    assert len(charge.value().split(b"\n")) == 2  # one separator: compact JSON has no newline
    outs = r.handle_ledger(charge.value(), led, 0.0)
    (cmd,) = [o for o in outs if o.topic == "ticket_commands"]
    assert cmd.value() == ticket_bytes
    ticket = OpenTicket.model_validate_json(cmd.value())
    assert ticket.email_id == raw.email_id and ticket.charged is charged
    assert ticket.content.subject == "Printer on fire" and led.balance(7) == (0 if charged else 1)


def test_a_charge_without_its_ticket_is_a_dead_letter() -> None:
    from services.router.ledger import ChargeRequest, dumps_item

    req = ChargeRequest(
        email_id="e1", gateway_id="gw1", client_id=7, department_id=1, ticket_id="T",
        per_incident=False, notice_to="a@x.org",
    )  # fmt: skip
    led = Ledger({}, {}, {}, {})
    outs = router().handle_ledger(dumps_item(req), led, 0.0)
    assert [o.topic for o in outs] == ["dead", "outcomes"] and "no ticket" in outs[0].event.reason
    assert outs[1].event.email_id == "e1" and outs[1].event.decision.value == "malformed"
    assert led.charges == {}  # nothing decided, nothing charged
