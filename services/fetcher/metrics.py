"""Prometheus metrics per gateway; exposed by `supportdesk fetcher` when a port is set."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

LABELS = ("gateway_id", "gateway")

MAILS_FETCHED = Counter(
    "supportdesk_fetcher_mails_fetched_total", "Mails read from the mailbox", LABELS
)
MAILS_PUBLISHED = Counter(
    "supportdesk_fetcher_mails_published_total",
    "Mails committed to mail.raw (acknowledged by the broker)",
    LABELS,
)
BYTES_PUBLISHED = Counter(
    "supportdesk_fetcher_bytes_total", "Raw mail bytes committed to mail.raw", LABELS
)
ERRORS = Counter("supportdesk_fetcher_errors_total", "Failed polls by kind", (*LABELS, "kind"))
POLL_SECONDS = Histogram(
    "supportdesk_fetcher_poll_duration_seconds",
    "Duration of one poll (connect, fetch, publish, mark)",
    LABELS,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
CONSECUTIVE_FAILURES = Gauge(
    "supportdesk_fetcher_consecutive_failures", "Failed polls in a row", LABELS
)
LAST_SUCCESS = Gauge(
    "supportdesk_fetcher_last_success_timestamp_seconds", "Unix time of the last good poll", LABELS
)
GATEWAYS_OWNED = Gauge("supportdesk_fetcher_gateways_owned", "Gateways this process polls")


def serve(port: int) -> None:
    """Start the /metrics endpoint (0 = disabled)."""
    if port > 0:
        start_http_server(port)
