"""The store's Prometheus metrics: what it applied, how long that took, what waits.

The consumer and the outbox relay are served on `SUPPORTDESK_HEALTH_PORT` (with /health);
the web process serves the HTTP metrics the same way on its own port.
"""

from __future__ import annotations

import logging
import threading

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select

from services.ticket_store.db import Database
from services.ticket_store.models import OutboxEvent

log = logging.getLogger(__name__)

RECORDS = Counter(
    "supportdesk_store_records_total",
    "Router output records applied (dead: sent to the dead-letter topic)",
    ("result",),
)
BATCH_SECONDS = Histogram(
    "supportdesk_store_batch_seconds",
    "Wall time to apply one poll's records in one database transaction",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_PUBLISHED = Counter(
    "supportdesk_store_outbox_published_total", "Outbox events published to the broker"
)
OUTBOX_BACKLOG = Gauge(
    "supportdesk_store_outbox_backlog", "Outbox events written but not yet published"
)
HTTP_REQUESTS = Counter(
    "supportdesk_http_requests_total",
    "HTTP requests by route template, method and status",
    ("route", "method", "status"),
)
HTTP_SECONDS = Histogram(
    "supportdesk_http_request_seconds",
    "HTTP request duration by route template",
    ("route",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def outbox_backlog(db: Database) -> int:
    with db.transaction() as s:
        pending = OutboxEvent.published_at.is_(None)
        return int(s.scalar(select(func.count()).select_from(OutboxEvent).where(pending)) or 0)


def start_backlog_sampler(db: Database, every_s: float = 15.0) -> threading.Event:
    """Count the pending outbox rows every `every_s` (the partial index makes it cheap)."""
    stopping = threading.Event()

    def loop() -> None:
        while True:
            try:
                OUTBOX_BACKLOG.set(outbox_backlog(db))
            except Exception as exc:  # noqa: BLE001 - metrics never stop the store
                log.debug("outbox backlog unavailable: %s", exc)
            if stopping.wait(every_s):
                return

    threading.Thread(target=loop, name="outbox-backlog", daemon=True).start()
    return stopping
