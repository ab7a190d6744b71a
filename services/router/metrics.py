"""The router's Prometheus metrics (served on `SUPPORTDESK_HEALTH_PORT` with /health)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from schemas import codec
from schemas.events import Outcome
from services.router.outputs import Out

DECISIONS = Counter(
    "supportdesk_router_decisions_total",
    "Mails decided, by decision and rule",
    ("decision", "rule"),
)
BATCH_SECONDS = Histogram(
    "supportdesk_router_batch_seconds",
    "Wall time to route one batch of raw mail: decode, rules, blob fsync, produce",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MAIL_SECONDS = Histogram(
    "supportdesk_router_mail_seconds",
    "CPU time the rules took for one mail",
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)


def count_decisions(outs: Iterable[Out]) -> None:
    """Count the outcomes among records being produced (straight or after settling)."""
    for out in outs:
        if out.topic != "outcomes":
            continue
        outcome = out.event if isinstance(out.event, Outcome) else None
        if outcome is None and out.data is not None:
            try:
                outcome = codec.loads(Outcome, out.data)
            except ValueError:
                continue
        if outcome is not None:
            DECISIONS.labels(str(outcome.decision), outcome.rule).inc()
