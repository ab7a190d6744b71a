"""Tickets asked for from the web or the API, charged by the same ledger as mail.

The store does not charge a paid ticket itself: it publishes a `TicketRequested`
(tickets.requests, key client id) and waits for the answer. The router puts the
request into its ledger topic next to that client's mail and grants, so rule 7
settles both channels in one order per client: no overdraft across channels. The
decision is stored in the `charges` table under the request id, so a redelivered
request (after a restart, or the store's outbox publishing twice) gets the same
answer and is never charged twice. The answer is a `TicketDecided` on
tickets.commands; no outcome (it is not a mail) and no notice email (the client
is on the page and the store shows the department's notice there).
"""

from __future__ import annotations

import hashlib
import logging

from schemas.events import DeadLetter, Decision
from schemas.ticket_requests import TicketDecided, TicketRequested
from services.router.ledger import ChargeRequest, Ledger, dumps_item
from services.router.outputs import LEDGER, Out
from services.router.rules import incidents

log = logging.getLogger(__name__)


def web_email_id(request_id: str) -> str:
    """Where a request's decision lives in the charges table (never a mail's email id)."""
    return f"web:{request_id}"


def forward(value: bytes | None) -> list[Out]:
    """A TicketRequested as a ledger item (a dead letter if it is not one)."""
    try:
        asked = TicketRequested.model_validate_json(value or b"")
    except Exception as exc:  # noqa: BLE001 - any garbage: dead letter, never a stall
        ref = "request-" + hashlib.sha256(value or b"").hexdigest()[:20]
        letter = DeadLetter(email_id=ref, stage="router.requests", reason=_short(exc))
        return [Out("dead", ref, letter)]
    item = ChargeRequest(
        email_id=web_email_id(asked.request_id),
        gateway_id="",
        client_id=asked.client_id,
        department_id=asked.department_id,
        ticket_id=asked.ticket_id,
        per_incident=asked.per_incident,
        notice_to="",
        request_id=asked.request_id,
    )
    return [Out(LEDGER, str(asked.client_id), item, dumps_item(item))]


def settle(req: ChargeRequest, ledger: Ledger, now: float, window_s: float) -> list[Out]:
    """Rule 7 for a request; the answer goes to the store on tickets.commands."""
    try:
        settled, _replayed = incidents.check(req, ledger, now, window_s)
    except Exception as exc:  # noqa: BLE001 - refuse rather than stall the partition
        log.exception("incidents rule raised on request %s", req.request_id)
        settled = incidents.Settled(Decision.MALFORMED, incidents.NAME, _short(exc), None)
    decided = TicketDecided(
        request_id=req.request_id,
        client_id=req.client_id,
        ticket_id=req.ticket_id,
        opened=settled.decision is Decision.TICKET_OPENED,
        charged=settled.charged,
        reason=settled.reason,
    )
    return [Out("ticket_commands", str(req.client_id), decided)]


def _short(exc: BaseException) -> str:
    text = f"bad ticket request: {type(exc).__name__}: {exc}"
    return text if len(text) < 2000 else text[:2000] + "…"
