"""The Grafana dashboard and the alert rules query metrics the services really serve."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

# Imported for what they register in prometheus_client's REGISTRY.
import kernel.health  # noqa: F401
import kernel.lag  # noqa: F401
import services.fetcher.metrics  # noqa: F401
import services.mailer.metrics  # noqa: F401
import services.router.metrics  # noqa: F401
import services.ticket_store.metrics  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
METRIC = re.compile(r"\b(supportdesk_[a-z_]+)")


def served() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    # Histograms and counters without samples yet still serve these series.
    for family in list(REGISTRY._names_to_collectors):
        names.add(family)
    return names


def test_every_alert_rule_queries_served_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    [group] = rules["groups"]
    names = served()
    assert len(group["rules"]) >= 4
    alerts = {rule["alert"] for rule in group["rules"]}
    # The four the operations issue asks for, at least.
    assert {"SupportdeskGatewayFailing", "SupportdeskConsumerLagGrowing",
            "SupportdeskDeadLetters", "SupportdeskOutboxBacklog"} <= alerts  # fmt: skip
    for rule in group["rules"]:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        used = METRIC.findall(rule["expr"])
        assert used, rule["alert"]
        assert set(used) <= names, (rule["alert"], set(used) - names)


def test_dashboard_is_generated_and_queries_served_metrics() -> None:
    spec = importlib.util.spec_from_file_location("build", DEPLOY / "grafana/build_dashboard.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    committed = json.loads((DEPLOY / "grafana/supportdesk.json").read_text())
    assert committed == build.dashboard(), "run python deploy/grafana/build_dashboard.py"
    names = served()
    for panel in committed["panels"]:
        for target in panel["targets"]:
            used = set(METRIC.findall(target["expr"]))
            assert used and used <= names, (panel["title"], used - names)
