"""Records the mailer's delivery reports (mail.delivery) on staff replies.

Same discipline as the store consumer: each report is applied in its own
transaction (idempotent: a repeat changes nothing) and the offset is
committed after it.
"""

from __future__ import annotations

import logging
import threading

from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from schemas import codec
from schemas.delivery import DELIVERY_TOPIC, DeliveryReport
from services.ticket_store import service
from services.ticket_store.db import Database
from supportdesk.config import Settings

log = logging.getLogger(__name__)


def apply_report(db: Database, value: bytes) -> bool:
    """True when the report changed a message; unreadable reports are logged and dropped."""
    try:
        report = codec.loads(DeliveryReport, value)
    except ValidationError as exc:
        log.error("unreadable delivery report dropped: %s", exc.errors()[:2])
        return False
    with db.transaction() as s:
        msg = service.record_delivery(
            s, report.outbound_id, status=report.status, detail=report.detail
        )
        return msg is not None


class DeliveryConsumer:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.stopping = threading.Event()

    def run(self) -> None:
        consumer = KafkaConsumer(
            DELIVERY_TOPIC,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=f"{self.settings.store_group_id}-delivery",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            while not self.stopping.is_set():
                for tp, records in consumer.poll(timeout_ms=500).items():
                    for r in records:
                        if r.value is not None:
                            apply_report(self.db, r.value)
                    consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})
        finally:
            consumer.close(autocommit=False)


def run_delivery(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        DeliveryConsumer(settings, db).run()
    finally:
        db.dispose()
