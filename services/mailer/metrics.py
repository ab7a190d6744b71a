"""The mailer's Prometheus metrics (served on `SUPPORTDESK_HEALTH_PORT` with /health)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DELIVERIES = Counter(
    "supportdesk_mailer_deliveries_total",
    "Outgoing mail by result: sent, deferred (queued for a retry) or failed",
    ("status",),
)
RETRY_QUEUE = Gauge("supportdesk_mailer_retry_queue", "Mails queued for another attempt")
