"""Web/API tickets through the router's ledger: one ledger for mail and web, so a mail
and a web request racing for a client's last incident give one ticket and one refusal,
in either order, and a redelivered request gets the same answer without a second charge."""

from __future__ import annotations

import pytest

from schemas.codec import loads_ticket_command
from schemas.events import DepartmentEntry, IncidentsGranted, OpenTicket, Outcome
from schemas.ticket_requests import TicketDecided, TicketRequested
from services.router import web_requests
from services.router.ledger import Ledger
from services.router.outputs import LEDGER, Out
from services.router.pipeline import Router
from tests.unit.router.helpers import KEY, directory, raw_event, simple

PAID = DepartmentEntry(department_id=2, name="paid", per_incident=True, insufficient_notice="No")
CLIENTS = {"alice@example.com": 7}


def router() -> Router:
    return Router(directory(clients=CLIENTS, departments=[PAID]), KEY)


def asked(request_id: str = "r1") -> bytes:
    req = TicketRequested(request_id=request_id, client_id=7, department_id=2, ticket_id="TWEB1")
    return req.model_dump_json().encode()


def mail_outs(r: Router) -> list[Out]:
    raw = raw_event(simple(frm="alice@example.com", subject="help"), department_id=2, name="m1")
    return [o for o in r.handle_raw(b"gw1", raw.model_dump_json().encode()) if o.topic == LEDGER]


def settle_all(r: Router, led: Ledger, outs: list[Out]) -> list[Out]:
    return [x for o in outs for x in r.handle_ledger(o.value(), led, 1000.0)]


def test_a_request_becomes_a_ledger_item_keyed_by_client() -> None:
    [out] = web_requests.forward(asked())
    assert out.topic == LEDGER and out.key == "7"


def test_a_bad_request_is_a_dead_letter() -> None:
    [out] = web_requests.forward(b"{not json")
    assert out.topic == "dead" and "bad ticket request" in out.value().decode()


@pytest.mark.parametrize("web_first", [True, False])
def test_mail_and_web_racing_for_the_last_incident(web_first: bool) -> None:
    r, led = router(), Ledger({}, {}, {}, {})
    led.grant(IncidentsGranted(grant_id="g1", client_id=7, amount=1))
    web, mail = web_requests.forward(asked()), mail_outs(r)
    settled = settle_all(r, led, web + mail if web_first else mail + web)
    commands = [loads_ticket_command(o.value()) for o in settled if o.topic == "ticket_commands"]
    [decided] = [c for c in commands if isinstance(c, TicketDecided)]
    opened_by_mail = [c for c in commands if isinstance(c, OpenTicket)]
    [outcome] = [Outcome.model_validate_json(o.value()) for o in settled if o.topic == "outcomes"]
    notices = [o for o in settled if o.topic == "outbound"]
    assert led.balance(7) == 0
    if web_first:
        assert decided.opened and decided.charged and decided.ticket_id == "TWEB1"
        assert not opened_by_mail and outcome.decision == "insufficient_incidents"
        assert len(notices) == 1  # the mail's sender is told by email
    else:
        assert not decided.opened and not decided.charged and "balance 0" in decided.reason
        assert len(opened_by_mail) == 1 and outcome.decision == "ticket_opened"
        assert not notices  # the web client sees the refusal on the page


def test_a_redelivered_request_gets_the_same_answer_and_no_second_charge() -> None:
    r, led = router(), Ledger({}, {}, {}, {})
    led.grant(IncidentsGranted(grant_id="g1", client_id=7, amount=1))
    first = settle_all(r, led, web_requests.forward(asked()))
    again = settle_all(r, led, web_requests.forward(asked()))
    one = TicketDecided.model_validate_json(first[0].value())
    two = TicketDecided.model_validate_json(again[0].value())
    assert one.opened and two.opened and two.charged and led.balance(7) == 0
    other = settle_all(r, led, web_requests.forward(asked("r2")))
    assert not TicketDecided.model_validate_json(other[0].value()).opened


def test_a_free_department_opens_without_a_charge() -> None:
    r, led = router(), Ledger({}, {}, {}, {})
    free = TicketRequested(
        request_id="r3", client_id=7, department_id=1, ticket_id="TWEB3", per_incident=False
    )
    [out] = settle_all(r, led, web_requests.forward(free.model_dump_json().encode()))
    decided = TicketDecided.model_validate_json(out.value())
    assert decided.opened and not decided.charged and led.balance(7) == 0
