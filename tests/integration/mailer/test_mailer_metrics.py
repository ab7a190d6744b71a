"""The mailer's sent/deferred/failed counts and retry queue on /metrics (issue 11, item 5)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from schemas.events import DeliveryReport
from services.mailer import metrics
from services.mailer.ledger import SentLedger
from services.mailer.worker import Mailer
from tests.fixtures.parts import free_port
from tests.fixtures.smtp import SmtpSink
from tests.integration.mailer.test_mailer import _reply, _settings_for


def deliveries(status: str) -> float:
    return REGISTRY.get_sample_value("supportdesk_mailer_deliveries_total", {"status": status}) or 0


def test_deliveries_are_counted_by_result(
    smtp_sink: SmtpSink, tmp_path: Path, ledger: SentLedger
) -> None:
    before = {s: deliveries(s) for s in ("sent", "deferred", "failed")}
    reports: list[DeliveryReport] = []
    m = Mailer(_settings_for(free_port(), tmp_path), report=reports.append, ledger=ledger)
    metrics.RETRY_QUEUE.set_function(m.ledger.queue_length)
    for i in range(2):
        m.handle(_reply(outbound_id=f"m{i}", message_id=f"<m{i}@desk.test>"), now=100.0)
    assert deliveries("deferred") == before["deferred"] + 2
    assert REGISTRY.get_sample_value("supportdesk_mailer_retry_queue") == 2

    m.settings = _settings_for(smtp_sink.port, tmp_path)  # the server is back
    assert m.retry_due(now=10_000.0) == 2
    smtp_sink.wait_for(2)
    assert deliveries("sent") == before["sent"] + 2
    assert deliveries("failed") == before["failed"]
    assert REGISTRY.get_sample_value("supportdesk_mailer_retry_queue") == 0
