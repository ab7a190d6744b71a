"""Write deploy/grafana/supportdesk.json, a Grafana dashboard over every service's metrics.

The dashboard is generated so every panel's query names a metric the services really
serve (tests/unit/deploy/test_observability.py checks that against the code).
Run: python deploy/grafana/build_dashboard.py
"""

from __future__ import annotations

import json
from pathlib import Path

PANELS: list[tuple[str, str, list[str]]] = [
    # (title, unit, PromQL queries)
    ("Mails decided per minute, by decision", "short",
     ["sum by (decision) (rate(supportdesk_router_decisions_total[5m])) * 60"]),
    ("Gateways failing (consecutive failed polls)", "short",
     ["supportdesk_fetcher_consecutive_failures"]),
    ("Mails fetched per minute, by gateway", "short",
     ["sum by (gateway) (rate(supportdesk_fetcher_mails_published_total[5m])) * 60"]),
    ("Consumer lag, by group and topic", "short",
     ["sum by (group, topic) (supportdesk_consumer_lag)"]),
    ("Router batch time p95", "s",
     ["histogram_quantile(0.95, sum by (le) (rate(supportdesk_router_batch_seconds_bucket[5m])))"]),
    ("Store batch time p95", "s",
     ["histogram_quantile(0.95, sum by (le) (rate(supportdesk_store_batch_seconds_bucket[5m])))"]),
    ("Store records per second (applied / dead)", "short",
     ["sum by (result) (rate(supportdesk_store_records_total[5m]))"]),
    ("Outbox backlog", "short", ["supportdesk_store_outbox_backlog"]),
    ("Mailer results per hour", "short",
     ["sum by (status) (increase(supportdesk_mailer_deliveries_total[1h]))"]),
    ("Mailer retry queue", "short", ["supportdesk_mailer_retry_queue"]),
    ("HTTP requests per second, by status", "reqps",
     ["sum by (status) (rate(supportdesk_http_requests_total[5m]))"]),
    ("HTTP p95 by route", "s",
     ["histogram_quantile(0.95, sum by (le, route) "
      "(rate(supportdesk_http_request_seconds_bucket[5m])))"]),
    ("Services waiting for a part", "short",
     ['supportdesk_service_state{supportdesk_service_state=~"waiting for .*"} == 1']),
]  # fmt: skip


def dashboard() -> dict[str, object]:
    panels = []
    for i, (title, unit, queries) in enumerate(PANELS):
        panels.append({
            "id": i + 1,
            "type": "timeseries",
            "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": chr(65 + n), "expr": q} for n, q in enumerate(queries)],
        })  # fmt: skip
    return {
        "title": "Supportdesk",
        "uid": "supportdesk",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [{
            "name": "datasource", "type": "datasource", "query": "prometheus",
            "label": "Prometheus",
        }]},  # fmt: skip
        "panels": panels,
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("supportdesk.json")
    out.write_text(json.dumps(dashboard(), indent=2) + "\n")
    print(f"wrote {out}")
