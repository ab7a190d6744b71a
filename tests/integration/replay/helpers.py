"""Shared by the replay tests: raw mail published as a fetcher would, rows and topic end
offsets counted (what a dry run must leave alone), waiting for the pipeline."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from email.message import EmailMessage
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition
from sqlalchemy import func, select

from kernel.config import Settings
from schemas.events import GatewaySnapshot, MailSource, RawEmail, email_id_for
from services.ticket_store.db import Database
from services.ticket_store.models import Base
from tests.fixtures.pipeline import Pipeline


def mail(frm: str, to: str, subject: str, cc: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, subject
    if cc:
        msg["Cc"] = cc
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
    msg.set_content(f"{subject}: please help.")
    return bytes(msg)


def raw(gateway_id: str, address: str, department_id: int, data: bytes) -> RawEmail:
    source = MailSource(protocol="maildir", filename=uuid.uuid4().hex)
    return RawEmail(
        email_id=email_id_for(gateway_id, source), gateway_id=gateway_id,
        gateway=GatewaySnapshot(address=address, department_id=department_id), source=source,
        size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        raw_b64=base64.b64encode(data).decode(),
    )  # fmt: skip


def publish(settings: Settings, topic: str, items: list[tuple[str, bytes, int | None]]) -> None:
    """(key, value, timestamp in ms or None) records, acknowledged."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for key, value, ts in items:
        producer.send(topic, key=key.encode(), value=value, timestamp_ms=ts)
    producer.flush(30)
    producer.close()


def publish_raw(settings: Settings, raws: list[RawEmail], ts: int | None = None) -> None:
    publish(settings, settings.topics.raw, [(r.gateway_id, r.model_dump_json().encode(), ts)
                                            for r in raws])  # fmt: skip


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table of the store."""
    with db.transaction() as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def end_offsets(settings: Settings) -> dict[str, int]:
    """Every partition's end offset of this run's topics, the router's own included."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    prefix = settings.topics.raw.rsplit(".", 2)[0]
    names = [n for n in admin.list_topics()
             if n.startswith(prefix) or n.startswith(settings.router_app_id)]  # fmt: skip
    admin.close()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        tps = [TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()]
        return {f"{tp.topic}[{tp.partition}]": o for tp, o in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def files(directory: Path) -> set[str]:
    return {str(p) for p in directory.rglob("*")} if directory.exists() else set()


def replay(pipeline: Pipeline, out: Path, *args: str) -> dict:
    """`supportdesk replay ...` as an operator runs it; the report it wrote, as JSON."""
    done = pipeline.run("replay", "--out", str(out), *args, timeout=240)
    text = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, text
    print(text)  # the summary: kept in the test's output for the record
    path = next(line.strip() for line in done.stdout.decode().splitlines()
                if line.strip().endswith(".json"))  # fmt: skip
    report = json.loads(Path(path).read_text())
    assert Path(path).with_suffix(".csv").exists() and Path(path).with_suffix(".html").exists()
    return report


def matrix(report: dict) -> dict[tuple[str, str], int]:
    return {(c["old"], c["new"]): c["count"] for c in report["matrix"]}
