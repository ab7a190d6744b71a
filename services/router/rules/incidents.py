"""Rule 7, incidents: a new ticket in a per-incident department costs one incident.

Runs in the ledger agent, after the repartition by client id, on a
ChargeRequest. With none left there is no ticket and the client gets one
"insufficient support incidents" notice, at most one per address per window.
Also drops a second copy of one mail (same Message-ID from the same client,
for example sent to two monitored addresses) as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Decision
from services.router.ledger import ChargeRequest, Ledger, charge_key

NAME = "incidents"


@dataclass(frozen=True)
class Settled:
    decision: Decision
    rule: str
    reason: str
    ticket_id: str | None
    charged: bool = False
    notice: bool = False

    def record(self) -> dict:
        return {
            "decision": self.decision.value,
            "rule": self.rule,
            "reason": self.reason,
            "ticket_id": self.ticket_id,
            "charged": self.charged,
            "notice": self.notice,
        }

    @classmethod
    def from_record(cls, rec: dict) -> Settled:
        return cls(
            Decision(rec["decision"]),
            rec["rule"],
            rec["reason"],
            rec.get("ticket_id"),
            bool(rec.get("charged")),
            bool(rec.get("notice")),
        )


def check(req: ChargeRequest, ledger: Ledger, now: float, window_s: float) -> tuple[Settled, bool]:
    """Decide one request; returns (decision, replayed) and updates the ledger once."""
    key = charge_key(req)
    entry = ledger.charges.get(key) or {"first": None, "decisions": {}}
    previous = entry["decisions"].get(req.email_id)
    if previous is not None and not _decide_again(req, previous):
        return Settled.from_record(previous), True
    settled = _decide(req, entry.get("first"), ledger, now, window_s)
    first = entry.get("first")
    shared = req.message_id or req.copy_key  # a key other copies of the mail can find
    if first is None and shared and settled.decision is Decision.TICKET_OPENED:
        first = {"email_id": req.email_id, "ticket_id": req.ticket_id}
    # A new value, never one changed in place: a faust table writes its changelog on set.
    record = settled.record() | ({"replay_id": req.replay_id} if req.replay_id else {})
    ledger.charges[key] = {
        "first": first,
        "decisions": {**entry["decisions"], req.email_id: record},
    }
    return settled, False


def _decide_again(req: ChargeRequest, previous: dict) -> bool:
    """An applied replay decides a mail again unless it opened a ticket (or was a copy of
    one that did): a mail refused for want of incidents may be charged now. Once per
    replay: a redelivered replay record finds its own decision."""
    if not req.replay_id or previous.get("replay_id") == req.replay_id:
        return False
    return previous.get("decision") not in (Decision.TICKET_OPENED, Decision.DUPLICATE)


def _decide(
    req: ChargeRequest, first: dict | None, ledger: Ledger, now: float, window_s: float
) -> Settled:
    if first is not None and first.get("email_id") != req.email_id:
        return Settled(
            Decision.DUPLICATE,
            NAME,
            f"same Message-ID as email {first.get('email_id')}",
            first.get("ticket_id"),
        )
    if req.per_incident:
        balance = ledger.balance(req.client_id)
        if balance < 1:
            last = ledger.notices.get(req.notice_to)
            notice = bool(req.notice_to) and (last is None or now - float(last) >= window_s)
            if notice:
                ledger.notices[req.notice_to] = now
            reason = f"balance {balance}; " + (
                "notice sent" if notice else "notice suppressed (one per address per window)"
            )
            return Settled(Decision.INSUFFICIENT_INCIDENTS, NAME, reason, None, notice=notice)
        ledger.add(req.client_id, -1)
        return Settled(
            Decision.TICKET_OPENED,
            NAME,
            f"incident charged, {balance - 1} left",
            req.ticket_id,
            charged=True,
        )
    return Settled(Decision.TICKET_OPENED, "client", "known client", req.ticket_id)
