"""What the operations pages and commands show: gateway health, dead letters, mail log rows.

No view carries a gateway password or a failed record's bytes.
"""

from __future__ import annotations

from datetime import datetime

from services.ticket_store.domain.dead_letters import reprocessable
from services.ticket_store.models_operations import DeadLetterRecord
from services.ticket_store.presenters.base import Out
from services.ticket_store.queries.gateway_health import GatewayFacts
from services.ticket_store.queries.mail_log import MailLogRow

# A fetcher reports after every poll, and at least every minute while nothing changes.
HEALTH_EVERY_S = 60
STALE_AFTER_POLLS = 3


class GatewayHealthOut(Out):
    gateway_id: str
    name: str
    enabled: bool
    state: str  # ok | failing | stopped | starting | stale | never reported | disabled
    stale: bool
    mode: str  # IDLE | polling every Ns
    fetcher: str
    last_poll: datetime | None
    last_success: datetime | None
    last_error: str
    last_error_at: datetime | None
    consecutive_failures: int
    mails_last_hour: int
    mails_last_day: int
    undecided: int
    lag_s: int  # age of the oldest mail taken and not yet decided; 0 when none


def gateway_health_out(
    f: GatewayFacts, now: datetime, stale_after_polls: int = STALE_AFTER_POLLS
) -> GatewayHealthOut:
    """Stale: no report for `stale_after_polls` poll intervals (at least a minute each)."""
    g, h = f.gateway, f.health
    interval = max(g.poll_interval_s, HEALTH_EVERY_S)
    stale = bool(
        g.enabled
        and h is not None
        and (now - h.reported_at).total_seconds() > stale_after_polls * interval
    )
    if not g.enabled:
        state = "disabled"
    elif h is None:
        state = "never reported"
    else:
        state = "stale" if stale else h.status
    polls = [t for t in ((h.last_success, h.last_error_at) if h else ()) if t is not None]
    return GatewayHealthOut(
        gateway_id=g.id,
        name=g.name,
        enabled=g.enabled,
        state=state,
        stale=stale,
        mode="IDLE" if h is not None and h.idle else f"polling every {g.poll_interval_s}s",
        fetcher=h.owner if h else "",
        last_poll=max(polls) if polls else None,
        last_success=h.last_success if h else None,
        last_error=h.last_error if h else "",
        last_error_at=h.last_error_at if h else None,
        consecutive_failures=h.consecutive_failures if h else 0,
        mails_last_hour=f.mails_last_hour,
        mails_last_day=f.mails_last_day,
        undecided=f.undecided,
        lag_s=int((now - f.oldest_undecided).total_seconds()) if f.oldest_undecided else 0,
    )


class DeadLetterOut(Out):
    id: int
    email_id: str
    stage: str
    gateway_id: str
    reason: str
    status: str
    occurrences: int
    first_at: datetime
    last_at: datetime
    source_topic: str
    reprocess_count: int
    reprocessed_at: datetime | None
    reprocessed_by: str
    resolved_at: datetime | None
    result: str
    reprocessable: bool


def dead_letter_out(row: DeadLetterRecord) -> DeadLetterOut:
    mail = reprocessable(row.stage, row.email_id, row.payload is not None)
    return DeadLetterOut.of(row, reprocessable=mail and row.status == "open")


class MailLogRowOut(Out):
    email_id: str
    gateway_id: str
    decision: str
    rule: str
    reason: str
    ticket_id: str | None
    decided_at: datetime
    from_address: str
    subject: str


def mail_log_row_out(r: MailLogRow) -> MailLogRowOut:
    return MailLogRowOut.of(r.outcome, from_address=r.from_address, subject=r.subject)
