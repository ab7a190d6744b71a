"""A raw mail's bytes, read back from where the pipeline keeps them.

`mail.raw` is the audit log: the mail page and reprocessing read the one record
a mail came in (its partition and offset are in `mail_sources`), and then the
claim-check blob when the record holds a reference. What is gone (past the
topic's retention, a missing blob, the broker unreachable) is said as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from kernel.blobs import BlobStore
from schemas.events import RawEmail
from schemas.raw import raw_bytes


class RawUnavailable(Exception):
    """The bytes cannot be had; the message says why (for the page and the CLI)."""


@dataclass(frozen=True)
class RawSource:
    data: bytes | None
    missing: str = ""


class RawArchive:
    def __init__(self, bootstrap: str, blobs: BlobStore, timeout_s: float = 5.0) -> None:
        self.bootstrap = bootstrap
        self.blobs = blobs
        self.timeout_s = timeout_s

    def record(self, topic: str, partition: int, offset: int) -> bytes:
        """The value of one record; RawUnavailable when it is gone or cannot be read."""
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                isolation_level="read_committed",
                bootstrap_timeout_ms=int(self.timeout_s * 1000),
                client_id="supportdesk-raw-archive",
            )
        except KafkaError as exc:  # no broker within the timeout, typically
            raise RawUnavailable(f"the broker cannot be reached ({type(exc).__name__})") from exc
        try:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            first = consumer.beginning_offsets([tp])[tp]
            end = consumer.end_offsets([tp])[tp]
            if offset < first:
                raise RawUnavailable(f"gone from {topic} (past its retention)")
            if offset >= end:
                raise RawUnavailable(f"not in {topic} (the topic was recreated?)")
            consumer.seek(tp, offset)
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500).values():
                    for r in records:
                        if r.offset == offset and r.value is not None:
                            return bytes(r.value)
                        if r.offset > offset:
                            raise RawUnavailable(f"gone from {topic} (aborted or compacted)")
            raise RawUnavailable(f"reading {topic} timed out")
        except KafkaError as exc:
            raise RawUnavailable(f"{topic} cannot be read ({type(exc).__name__})") from exc
        finally:
            consumer.close()

    def event(self, topic: str, partition: int, offset: int) -> RawEmail:
        value = self.record(topic, partition, offset)
        try:
            return RawEmail.model_validate_json(value)
        except ValueError as exc:
            raise RawUnavailable(f"the record is not a raw mail: {exc}") from exc

    def source(self, topic: str, partition: int, offset: int) -> RawSource:
        """The mail's bytes, or why they are not there (never raises)."""
        try:
            event = self.event(topic, partition, offset)
        except RawUnavailable as exc:
            return RawSource(None, str(exc))
        try:
            return RawSource(raw_bytes(event, self.blobs))
        except FileNotFoundError:
            return RawSource(None, f"blob {event.blob_ref} is missing from the blob store")
        except ValueError as exc:
            return RawSource(None, str(exc))
